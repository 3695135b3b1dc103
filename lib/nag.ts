import { CfnElement, IPolicyValidationPlugin, Stack, Validations } from 'aws-cdk-lib';
import { IBucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';

/**
 * The cdk-nag rule packs this project must pass: AWS Solutions (general security) and
 * Serverless (Lambda, API Gateway, SQS and SNS operational practice). A finding fails
 * synth until it is fixed or acknowledged with `Validations.of(scope).acknowledge()`
 * next to the resource, with a reason.
 *
 * @param scope - the app (or stage) the packs will check
 */
export function nagPacks(scope: IConstruct): IPolicyValidationPlugin[] {
  return [
    new AwsSolutionsChecks(scope, { verbose: true }),
    new ServerlessChecks(scope, { verbose: true }),
  ];
}

/** Registers {@link nagPacks} on the app so that `cdk synth` runs them. */
export function applyNagPacks(app: IConstruct): void {
  Validations.of(app).addPlugins(...nagPacks(app));
}

/**
 * The id of the AwsSolutions-IAM5 finding raised by a statement on every object of
 * `bucket` (`<bucket ARN>/*`), for acknowledging exactly that finding and no other
 * wildcard. cdk-nag names the resource by the bucket's logical id.
 */
export function bucketObjectsWildcardFinding(bucket: IBucket): string {
  const element = bucket.node.defaultChild as CfnElement;
  const logicalId = Stack.of(bucket).resolve(element.logicalId) as string;

  return `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/*]`;
}
