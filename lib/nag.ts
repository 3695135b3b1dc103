import { IPolicyValidationPlugin, Validations } from 'aws-cdk-lib';
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
