import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { StripeSourceError } from '../lambda/core/errors';

/**
 * Reads a deployed stack's outputs, so the CLIs and the local run can find
 * the tables, queues, bucket and secret of an environment by its name
 * alone instead of asking for each resource.
 */

/** A stack's outputs by output key, e.g. `QueueUrl`, `StateTableName`. */
export type StackOutputs = Readonly<Record<string, string>>;

/** The stack `cdk deploy -c env=<env>` creates. */
export function stackNameOf(env: string): string {
  return `StripeSource-${env}`;
}

/**
 * CloudFormation has no stack of that name in this account and region. It
 * answers with a generic `ValidationError`; this names the stack and where
 * to look instead.
 */
export class StackNotFoundError extends StripeSourceError {
  constructor(
    readonly stackName: string,
    options?: { cause?: unknown },
  ) {
    const detail = options?.cause instanceof Error ? ` (${options.cause.message})` : '';
    super(`No stack ${stackName} in this account and region${detail}`, options);
  }
}

/**
 * Reads the outputs of one stack. The client is made on call and destroyed
 * after, so a command that never needs CloudFormation never builds one.
 *
 * @throws StackNotFoundError when the stack does not exist
 */
export async function readStackOutputs(
  stackName: string,
  cloudFormation: () => CloudFormationClient,
): Promise<StackOutputs> {
  const client = cloudFormation();
  try {
    const { Stacks = [] } = await client.send(new DescribeStacksCommand({ StackName: stackName }));

    return Object.fromEntries(
      (Stacks[0]?.Outputs ?? [])
        .filter((o) => o.OutputKey && o.OutputValue)
        .map((o) => [o.OutputKey!, o.OutputValue!]),
    );
  } catch (error) {
    if ((error as { name?: string }).name === 'ValidationError') {
      throw new StackNotFoundError(stackName, { cause: error });
    }
    throw error;
  } finally {
    client.destroy();
  }
}
