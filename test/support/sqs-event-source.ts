import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { PollOutcome, SqsPoller } from '../../local/sqs-poller';

/**
 * Lambda's SQS event source mapping in miniature, over a real SQS API: the
 * local run's poller, driven one poll at a time so a test decides when a
 * batch is received, and retrying failures at once by default.
 */

export { receiveMessages, toSqsRecord } from '../../local/sqs-poller';
export type { PollOutcome } from '../../local/sqs-poller';

/** Settings of the event source. */
export interface SqsEventSourceProps {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
  /** Messages per handler call. @default 10 */
  readonly batchSize?: number;
  /**
   * Makes a failed message visible again at once instead of after the
   * queue's visibility timeout, so retry tests take no waiting. Lambda
   * itself waits; the receive count rises the same either way.
   * @default true
   */
  readonly retryAtOnce?: boolean;
}

/** Polls a queue into a handler the way Lambda's event source mapping does. */
export class SqsEventSource {
  private readonly poller: SqsPoller;

  constructor(props: SqsEventSourceProps) {
    const { retryAtOnce, ...rest } = props;
    this.poller = new SqsPoller({
      ...rest,
      ...(retryAtOnce !== false ? { failedVisibilitySeconds: 0 } : {}),
    });
  }

  /** Receives one batch, if any, and handles it. */
  poll(waitSeconds = 0): Promise<PollOutcome> {
    return this.poller.poll(waitSeconds);
  }

  /**
   * Polls until a poll receives nothing (the queue is empty, or everything
   * left is in flight), at most `maxPolls` times. Returns every poll's outcome.
   */
  async drain(maxPolls = 20): Promise<PollOutcome[]> {
    const outcomes: PollOutcome[] = [];
    for (let i = 0; i < maxPolls; i += 1) {
      const outcome = await this.poll();
      if (outcome.received.length === 0) return outcomes;
      outcomes.push(outcome);
    }

    throw new Error(`The queue still had messages after ${maxPolls} polls.`);
  }
}
