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
