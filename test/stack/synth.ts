import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import { EnvironmentConfig } from '../../lib/config';
import { StripeSourceStack } from '../../lib/stripe-source-stack';

/** A synthesized stack and its template. */
export interface Synthesized {
  readonly stack: StripeSourceStack;
  readonly template: Template;
}

/**
 * Builds the stack for `config` in an app of its own (no cdk-nag packs, so the template
 * assertions see every resource even when a finding would fail synth) and synthesizes it
 * once, Lambda bundling included.
 */
export function synthesize(config: EnvironmentConfig): Synthesized {
  const app = new App();
  const stack = new StripeSourceStack(app, `StripeSource-${config.name}`, { config });

  return { stack, template: Template.fromStack(stack) };
}

/** The logical id a construct's CloudFormation resource has in the template. */
export function logicalId(construct: IConstruct): string {
  const element = (
    CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild
  ) as CfnElement;

  return Stack.of(element).resolve(element.logicalId) as string;
}

/** One statement of an identity policy, as the assertions compare it. */
export interface GrantedStatement {
  /** The actions, sorted. */
  readonly Action: string[];
  /** The resource, as it appears in the template. */
  readonly Resource: unknown;
}

/**
 * Every Allow statement of the identity policies attached to `role`, in template order,
 * with actions as sorted lists. Throws on a Deny or a statement with conditions, which
 * these roles are not expected to have.
 */
export function policyStatementsOf(template: Template, role: IConstruct): GrantedStatement[] {
  const roleRef = { Ref: logicalId(role) };
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter(
    (policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([roleRef]),
  );

  return policies.flatMap((policy) =>
    policy.Properties.PolicyDocument.Statement.map(
      (statement: { Effect: string; Action: string | string[]; Resource: unknown }) => {
        if (statement.Effect !== 'Allow' || 'Condition' in statement) {
          throw new Error(`unexpected statement ${JSON.stringify(statement)}`);
        }
        return { Action: [statement.Action].flat().sort(), Resource: statement.Resource };
      },
    ),
  );
}
