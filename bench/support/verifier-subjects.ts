/**
 * What section 1 times, gathered in one module so it can be bundled with the
 * deployed settings and run as Lambda would run it (tsx adds helpers that a
 * minified bundle does not have).
 */
import { createHmac } from 'node:crypto';
import Stripe from 'stripe';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { StaticSigningSecrets } from '../../lambda/adapters/signing-secrets';
import { EventQueue, QueuedEvent } from '../../lambda/core/ports';
import { createVerifierHandler } from '../../lambda/handlers/verifier';
import { CountingTelemetry } from './noop-telemetry';

/** One fixture ready to post: the text, its signature and the requests. */
export interface Delivery {
  readonly name: string;
  readonly bytes: number;
  readonly text: string;
  readonly timestamp: number;
  readonly header: string;
  readonly request: APIGatewayProxyEventV2;
  readonly base64Request: APIGatewayProxyEventV2;
}

/** The in-memory queue sink: keeps the last event, a hand-off that costs nothing. */
class SinkQueue implements EventQueue {
  last: QueuedEvent | undefined;

  async enqueue(event: QueuedEvent): Promise<void> {
    this.last = event;
  }
}

/** Each way of taking a delivery, by name; `floor` is the baseline. */
export function createSubjects(secret: string) {
  const sink = new SinkQueue();
  const telemetry = new CountingTelemetry();
  const secrets = new StaticSigningSecrets(secret);
  const verify = createVerifierHandler({ secrets, queue: sink, telemetry });
  const stripe = new Stripe('sk_test_bench_no_network');

  /** The usual hand-written handler: constructEvent, hand off, answer. */
  async function handWritten(request: { headers: Record<string, string | undefined>; body: string }) {
    let event: Stripe.Event;
    try {
      event = stripe.webhooks.constructEvent(request.body, request.headers['stripe-signature'] ?? '', secret);
    } catch {
      return { statusCode: 400, body: '{"error":"invalid signature"}' };
    }
    await sink.enqueue({ summary: event as never, body: new Uint8Array(0), groupId: event.id, receivedAt: 0 });

    return { statusCode: 200, body: JSON.stringify({ received: true }) };
  }

  return {
    telemetry,
    subjects: {
      floor: (d: Delivery) => {
        createHmac('sha256', secret).update(`${d.timestamp}.`).update(d.text).digest('hex');

        return JSON.parse(d.text) as unknown;
      },
      verifier: (d: Delivery) => verify(d.request),
      'verifier, base64 body': (d: Delivery) => verify(d.base64Request),
      'hand-written constructEvent': (d: Delivery) => handWritten({ headers: d.request.headers, body: d.text }),
    },
  };
}
