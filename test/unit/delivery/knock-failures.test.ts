import { once } from 'node:events';
import { AddressInfo, Server, createServer } from 'node:net';
import {
  KnockApiActions,
  KnockApiActionsProps,
  KnockRejectedError,
  KnockTransientError,
} from '../../../lambda/adapters/knock-actions';
import { buildRequest } from '../../../lambda/core/mapping/actions';
import { PlannedAction } from '../../../lambda/core/mapping/plan';
import { ActionKind } from '../../../lambda/core/mapping/types';
import { Responder, useKnockStandIn } from '../../support/knock-stand-in';

const knock = useKnockStandIn();

beforeEach(() => {
  knock.requests.length = 0;
  knock.respondWith(() => ({ status: 200 }));
});

function action(kind: ActionKind, params: Record<string, unknown>, mappingId = `${kind}-mapping`): PlannedAction {
  return {
    mappingId,
    mappingVersion: 1,
    kind,
    params,
    ...buildRequest(kind, params),
    idempotencyKey: `stripe-source:evt_test_1:${mappingId}`,
  };
}

const trigger = action('trigger_workflow', { workflow_key: 'invoice-paid', recipients: ['cus_1'], data: { a: 1 } });
const identify = action('identify_user', { user_id: 'cus_1', properties: { name: 'Ada' } });

function client(props: Partial<KnockApiActionsProps> = {}): KnockApiActions {
  return new KnockApiActions({ apiKey: 'sk_test_standin', baseURL: knock.url, timeoutMs: 2000, ...props });
}

/** Answers from the list in turn, then 200. */
function answers(...list: ReturnType<Responder>[]): Responder {
  return () => list.shift() ?? { status: 200 };
}

describe('Knock failures, per class', () => {
  it.each([500, 502, 503, 504])('retries a %i and succeeds on the next request', async (status) => {
    knock.respondWith(answers({ status }));

    const outcome = await client().perform(trigger);

    expect(outcome).toMatchObject({ status: 'done', httpStatus: 200, calls: 2 });
    expect(knock.requests).toHaveLength(2);
  });

  it.each([408, 409])('treats a %i as transient and retries it', async (status) => {
    knock.respondWith(answers({ status }));

    await expect(client().perform(trigger)).resolves.toMatchObject({ status: 'done', calls: 2 });
  });

  it("waits out a 429's Retry-After before retrying, and holds the endpoint's other calls back too", async () => {
    const started = Date.now();
    const arrivals: { path: string; at: number }[] = [];
    const replies = answers({ status: 429, headers: { 'retry-after': '0.4' } });
    knock.respondWith((request) => {
      arrivals.push({ path: request.path, at: Date.now() - started });
      return replies(request);
    });
    const knockClient = client();

    const first = knockClient.perform(identify);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = knockClient.perform(action('identify_user', { user_id: 'cus_2' }, 'other'));
    await Promise.all([first, second]);

    const [refused, ...later] = arrivals;
    expect(refused!.path).toBe('/v1/users/cus_1');
    expect(later.map((a) => a.path).sort()).toEqual(['/v1/users/cus_1', '/v1/users/cus_2']);
    expect(Math.min(...later.map((a) => a.at))).toBeGreaterThanOrEqual(390);
  });

  it('fails at once, for the queue to retry, when Retry-After exceeds the quick-retry wait', async () => {
    knock.respondWith(() => ({ status: 429, headers: { 'retry-after': '30' } }));

    const attempt = client().perform(trigger);

    await expect(attempt).rejects.toBeInstanceOf(KnockTransientError);
    await expect(attempt).rejects.toMatchObject({ httpStatus: 429, retryAfterSeconds: 30, calls: 1 });
    expect(knock.requests).toHaveLength(1);
  });

  it('gives up after the quick retries with a transient error carrying the last answer', async () => {
    knock.respondWith(() => ({ status: 503 }));

    const attempt = client({ maxRetries: 2 }).perform(trigger);

    await expect(attempt).rejects.toMatchObject({
      name: 'KnockTransientError',
      httpStatus: 503,
      knockRequestId: expect.stringMatching(/^req_standin_/),
      calls: 3,
      outcomeUnknown: false,
    });
  });

  it('treats a request stalled past the client timeout as transient with an unknown outcome', async () => {
    knock.respondWith(() => ({ status: 200, delayMs: 400 }));

    const attempt = client({ timeoutMs: 100, maxRetries: 0 }).perform(trigger);

    await expect(attempt).rejects.toBeInstanceOf(KnockTransientError);
    await expect(attempt).rejects.toMatchObject({ outcomeUnknown: true, calls: 1 });
  });

  it('treats a connection reset as transient with an unknown outcome', async () => {
    const resetting: Server = createServer((socket) => socket.destroy());
    resetting.listen(0, '127.0.0.1');
    await once(resetting, 'listening');
    const { port } = resetting.address() as AddressInfo;

    try {
      const attempt = client({ baseURL: `http://127.0.0.1:${port}`, maxRetries: 1 }).perform(trigger);

      await expect(attempt).rejects.toBeInstanceOf(KnockTransientError);
      await expect(attempt).rejects.toMatchObject({ outcomeUnknown: true, calls: 2 });
    } finally {
      await new Promise((resolve) => resetting.close(resolve));
    }
  });

  it.each([400, 401, 403, 404, 422])('dead-letters a %i at once, without a single retry', async (status) => {
    knock.respondWith(() => ({ status, body: { message: 'refused' } }));

    const attempt = client().perform(trigger);

    await expect(attempt).rejects.toBeInstanceOf(KnockRejectedError);
    await expect(attempt).rejects.toMatchObject({ httpStatus: status, calls: 1 });
    expect(knock.requests).toHaveLength(1);
  });

  it.each([
    ['..', 'identify_user'],
    ['.', 'delete_user'],
  ] as const)(
    "dead-letters a request Knock's client refuses to build (user id %j), without sending or retrying",
    async (userId, kind) => {
      const attempt = client().perform(action(kind, { user_id: userId, properties: { name: 'Ada' } }));

      await expect(attempt).rejects.toBeInstanceOf(KnockRejectedError);
      await expect(attempt).rejects.toMatchObject({
        message: expect.stringContaining('Path parameters result in path with invalid segments'),
        httpStatus: undefined,
        calls: 0,
        outcomeUnknown: false,
      });
      expect(knock.requests).toHaveLength(0);
    },
  );

  it('counts a delete that finds nothing as done, so a repeat after a lost answer is safe', async () => {
    knock.respondWith(() => ({ status: 404, body: { message: 'not found' } }));

    const outcome = await client().perform(action('delete_user', { user_id: 'cus_gone' }));

    expect(outcome).toMatchObject({ status: 'done', httpStatus: 404, note: 'already absent in Knock' });
  });

  it('sends the same Idempotency-Key on every retry of an action', async () => {
    knock.respondWith(answers({ status: 500 }, { status: 502 }));

    await client().perform(trigger);

    expect(knock.requests.map((r) => r.idempotencyKey)).toEqual([
      'stripe-source:evt_test_1:trigger_workflow-mapping',
      'stripe-source:evt_test_1:trigger_workflow-mapping',
      'stripe-source:evt_test_1:trigger_workflow-mapping',
    ]);
  });

  it('runs the stale check before each retry and stops when it throws', async () => {
    knock.respondWith(() => ({ status: 503 }));
    const superseded = new Error('stale: a newer event was applied');
    const checks: number[] = [];

    const attempt = client().perform(identify, {
      beforeRetry: async () => {
        checks.push(knock.requests.length);
        throw superseded;
      },
    });

    await expect(attempt).rejects.toBe(superseded);
    expect(checks).toEqual([1]);
    expect(knock.requests).toHaveLength(1);
  });
});
