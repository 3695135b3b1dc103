import Knock, { APIConnectionError, APIConnectionTimeoutError, APIError, KnockError } from '@knocklabs/node';
import { PermanentFailureError, TransientFailureError } from '../core/errors';
import { PlannedAction } from '../core/mapping/plan';
import { ActionKind } from '../core/mapping/types';
import { ActionOutcome, KnockActions } from '../core/ports';
import { EndpointRateLimiter, LimiterClock, SYSTEM_CLOCK } from './rate-limiter';

/**
 * Knock's rate limit per endpoint, requests per second for one Knock
 * environment (https://docs.knock.app/api-reference/overview/rate-limits).
 * Identify user is tier 3, delete user tier 2, remove audience members tier
 * 3 and trigger workflow tier 5 in Knock's published API description; the
 * tiers of the other endpoints are assumed from their kind (writes of a
 * record tier 3, deletes tier 2). Override any of them with
 * `KnockRateLimits.accountLimits`.
 */
export const KNOCK_RATE_LIMITS: Readonly<Record<ActionKind, number>> = {
  identify_user: 60,
  delete_user: 5,
  set_object: 60,
  delete_object: 5,
  set_tenant: 60,
  delete_tenant: 5,
  subscribe: 60,
  unsubscribe: 60,
  add_audience_members: 60,
  remove_audience_members: 60,
  trigger_workflow: 1000,
  cancel_workflow: 60,
};

/**
 * How the mapper paces itself under Knock's limits. The limits hold for the
 * whole Knock environment, while each mapper container paces only itself,
 * so each container takes `accountLimit * utilization / concurrency`; with
 * the defaults, identify user runs at 27 requests per second per container.
 */
export interface KnockRateLimits {
  /** Knock's limits, requests per second per endpoint. @default KNOCK_RATE_LIMITS */
  readonly accountLimits?: Partial<Record<ActionKind, number>>;
  /**
   * Most mapper containers running at once: the SQS event source's maximum
   * concurrency (`mapperMaxConcurrency`). Set it to 1 where one process
   * sends everything, as the local run does.
   * @default 2, the mapper construct's default maximum concurrency
   */
  readonly concurrency?: number;
  /**
   * Share of each limit to use, leaving room for other callers of the same
   * Knock environment and for clock drift between Knock's window and ours.
   * @default 0.9
   */
  readonly utilization?: number;
  /**
   * Seconds of the per-container rate that may go at once after a quiet
   * spell. Kept small so that burst plus steady rate stays under the limit
   * in any one-second window.
   * @default 0.1
   */
  readonly burstSeconds?: number;
  /**
   * Longest wait for a turn before the action fails as transient and the
   * queue retries it, so a long Retry-After never runs the invocation into
   * its timeout.
   * @default 2000
   */
  readonly maxWaitMs?: number;
}

/** Settings for the Knock client. */
export interface KnockApiActionsProps {
  readonly apiKey: string;
  /** The API base URL. @default https://api.knock.app */
  readonly baseURL?: string;
  /**
   * Quick in-process retries of 408, 409, 429, 5xx and connection faults,
   * paced by the rate limiter and honouring Retry-After; beyond these the
   * message itself is retried by the queue.
   * @default 2
   */
  readonly maxRetries?: number;
  /**
   * The longest wait before a quick retry. A Retry-After or backoff longer
   * than this fails the action as transient at once, so other events in the
   * batch go on and the queue retries this one later.
   * @default 2000
   */
  readonly maxRetryDelayMs?: number;
  /** Per-request timeout in milliseconds. @default 10000 */
  readonly timeoutMs?: number;
  /**
   * Client-side pacing per endpoint, or `false` to send unpaced.
   * @default the defaults of KnockRateLimits
   */
  readonly rateLimits?: KnockRateLimits | false;
  /** Time for the limiter and the retry waits (tests). @default the wall clock */
  readonly clock?: LimiterClock;
}

/** What {@link KnockApiActions.perform} accepts beside the action. */
export interface PerformOptions {
  /**
   * Runs before each quick retry; throwing stops the retries with that
   * error. The mapper re-checks there that a newer event has not set the
   * same record meanwhile.
   */
  readonly beforeRetry?: () => Promise<void>;
}

/** How an action ended, with the HTTP requests it took. */
export interface KnockOutcome extends ActionOutcome {
  /** HTTP requests sent for this action in this delivery, quick retries included. */
  readonly calls: number;
  readonly note?: string;
}

/** What Knock said on the last request of an action that failed. */
export interface KnockFailureDetails {
  readonly httpStatus?: number;
  readonly knockRequestId?: string;
  /** HTTP requests sent for this action in this delivery. */
  readonly calls: number;
  /**
   * The request may have reached Knock (a timeout or a reset after
   * sending): whether it took effect is unknown.
   */
  readonly outcomeUnknown: boolean;
}

/** A Knock failure worth retrying: 408, 409, 429, 5xx, a timeout or a reset. */
export class KnockTransientError extends TransientFailureError implements KnockFailureDetails {
  readonly httpStatus?: number;
  readonly knockRequestId?: string;
  readonly calls: number;
  readonly outcomeUnknown: boolean;

  constructor(
    message: string,
    details: KnockFailureDetails,
    retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, retryAfterSeconds, options);
    this.calls = details.calls;
    this.outcomeUnknown = details.outcomeUnknown;
    if (details.httpStatus !== undefined) this.httpStatus = details.httpStatus;
    if (details.knockRequestId !== undefined) this.knockRequestId = details.knockRequestId;
  }
}

/**
 * Knock refused the request for good (a 4xx other than 408, 409, 429), or
 * Knock's client refused to send it at all (`httpStatus` then unset).
 */
export class KnockRejectedError extends PermanentFailureError implements KnockFailureDetails {
  readonly httpStatus?: number;
  readonly knockRequestId?: string;
  readonly calls: number;
  readonly outcomeUnknown = false;

  constructor(
    message: string,
    details: Omit<KnockFailureDetails, 'outcomeUnknown'>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.calls = details.calls;
    if (details.httpStatus !== undefined) this.httpStatus = details.httpStatus;
    if (details.knockRequestId !== undefined) this.knockRequestId = details.knockRequestId;
  }
}

/**
 * Deletes whose target is already gone have reached their end state: a
 * retry after a lost response answers 404, which must not dead-letter.
 */
const ABSENT_IS_DONE: ReadonlySet<ActionKind> = new Set([
  'delete_user',
  'delete_object',
  'delete_tenant',
  'unsubscribe',
  'remove_audience_members',
]);

/**
 * Performs planned actions through the official `@knocklabs/node` client.
 *
 * Every request carries the action's deterministic `Idempotency-Key`; Knock
 * honours it on workflow triggers for 24 hours, so a repeated trigger is
 * dropped there. The other calls are upserts or deletes that are safe to
 * repeat (a delete that finds nothing counts as done). Requests are paced
 * per endpoint under Knock's limits, and failures are sorted into
 * transient (408, 409, 429, 5xx, timeouts, resets), retried here a few
 * times with backoff that honours Retry-After, and permanent (every other
 * 4xx, and a request the client refuses to build), never retried.
 */
export class KnockApiActions implements KnockActions {
  private readonly knock: Knock;
  private readonly limiter: EndpointRateLimiter | undefined;
  private readonly maxRetries: number;
  private readonly maxRetryDelayMs: number;
  private readonly clock: LimiterClock;

  constructor(props: KnockApiActionsProps) {
    this.knock = new Knock({
      apiKey: props.apiKey,
      ...(props.baseURL ? { baseURL: props.baseURL } : {}),
      // Retries happen in perform(), where the limiter and the stale check see them.
      maxRetries: 0,
      timeout: props.timeoutMs ?? 10_000,
      logLevel: 'off',
    });
    this.maxRetries = props.maxRetries ?? 2;
    this.maxRetryDelayMs = props.maxRetryDelayMs ?? 2000;
    this.clock = props.clock ?? SYSTEM_CLOCK;
    this.limiter =
      props.rateLimits === false ? undefined : knockRateLimiter(props.rateLimits ?? {}, this.clock);
  }

  /** The requests per second this container allows itself per endpoint (none when unpaced). */
  get ratesPerSecond(): Readonly<Record<string, number>> {
    return this.limiter?.rates ?? {};
  }

  async perform(action: PlannedAction, options: PerformOptions = {}): Promise<KnockOutcome> {
    let calls = 0;
    for (let retry = 0; ; retry += 1) {
      if (retry > 0) await options.beforeRetry?.();
      await this.limiter?.take(action.kind);

      calls += 1;
      let failure: KnockTransientError | KnockRejectedError;
      try {
        const { response } = await this.call(action).withResponse();

        return { status: 'done', httpStatus: response.status, ...requestId(response.headers), calls };
      } catch (error) {
        if (isAbsent(action, error)) {
          const headers = (error as APIError).headers;
          const note = 'already absent in Knock';

          return { status: 'done', httpStatus: 404, ...requestId(headers), calls, note };
        }
        failure = classify(action, error, calls);
      }

      if (failure instanceof KnockRejectedError || retry >= this.maxRetries) throw failure;

      const delay = retryDelay(failure, retry);
      if (failure.httpStatus === 429) this.limiter?.pause(action.kind, delay);
      if (delay > this.maxRetryDelayMs) throw failure;
      // After a 429 the paused limiter does the waiting, for every caller.
      if (failure.httpStatus !== 429 || !this.limiter) await this.clock.sleep(delay);
    }
  }

  private call(action: PlannedAction) {
    const p = action.params as Record<string, any>;
    const options = { idempotencyKey: action.idempotencyKey };
    const body = action.request.body as any;
    const k = this.knock;
    switch (action.kind) {
      case 'identify_user':
        return k.users.update(p.user_id, body, options);
      case 'delete_user':
        return k.users.delete(p.user_id, options);
      case 'set_object':
        return k.objects.set(p.collection, p.object_id, body, options);
      case 'delete_object':
        return k.objects.delete(p.collection, p.object_id, options);
      case 'set_tenant':
        return k.tenants.set(p.tenant_id, body, options);
      case 'delete_tenant':
        return k.tenants.delete(p.tenant_id, options);
      case 'subscribe':
        return k.objects.addSubscriptions(p.collection, p.object_id, body, options);
      case 'unsubscribe':
        return k.objects.deleteSubscriptions(p.collection, p.object_id, body, options);
      case 'add_audience_members':
        return k.audiences.addMembers(p.audience_key, body, options);
      case 'remove_audience_members':
        return k.audiences.removeMembers(p.audience_key, body, options);
      case 'trigger_workflow':
        return k.workflows.trigger(p.workflow_key, body, options);
      case 'cancel_workflow':
        return k.workflows.cancel(p.workflow_key, body, options);
    }
  }
}

/**
 * The per-container limiter for the given settings: each endpoint gets its
 * account limit times the utilization, divided by the concurrency.
 */
export function knockRateLimiter(
  settings: KnockRateLimits,
  clock: LimiterClock = SYSTEM_CLOCK,
): EndpointRateLimiter {
  const concurrency = settings.concurrency ?? 2;
  const utilization = settings.utilization ?? 0.9;
  if (!(concurrency >= 1) || !(utilization > 0 && utilization <= 1)) {
    throw new RangeError(
      'Knock rate limits need concurrency >= 1 and utilization in (0, 1]; ' +
        `got ${concurrency} and ${utilization}.`,
    );
  }

  const limits = { ...KNOCK_RATE_LIMITS, ...settings.accountLimits };
  const rates = Object.fromEntries(
    Object.entries(limits).map(([kind, limit]) => [kind, ((limit ?? 0) * utilization) / concurrency]),
  );

  return new EndpointRateLimiter(rates, {
    burstSeconds: settings.burstSeconds ?? 0.1,
    maxWaitMs: settings.maxWaitMs ?? 2000,
    clock,
  });
}

/**
 * The local run's stand-in when no Knock API key is set: prints each request
 * it would have sent and sends nothing.
 */
export class DryRunKnockActions implements KnockActions {
  constructor(private readonly print: (line: string) => void) {}

  async perform(action: PlannedAction): Promise<ActionOutcome> {
    const { method, path, body } = action.request;
    this.print(
      `dry run: ${method} ${path} ${body ? JSON.stringify(body) : ''} ` +
        `(Idempotency-Key ${action.idempotencyKey})`,
    );

    return { status: 'dry_run' };
  }
}

/** Exponential backoff from 250 ms with jitter, or exactly what Retry-After asks. */
function retryDelay(failure: KnockTransientError, retry: number): number {
  if (failure.retryAfterSeconds !== undefined) return failure.retryAfterSeconds * 1000;

  return 250 * 2 ** retry * (0.75 + Math.random() * 0.25);
}

function isAbsent(action: PlannedAction, error: unknown): boolean {
  return ABSENT_IS_DONE.has(action.kind) && error instanceof APIError && error.status === 404;
}

function classify(
  action: PlannedAction,
  error: unknown,
  calls: number,
): KnockTransientError | KnockRejectedError {
  const what = `${action.kind} ${action.request.method} ${action.request.path}`;
  if (error instanceof APIConnectionTimeoutError) {
    return new KnockTransientError(
      `Knock did not answer ${what} in time; it may or may not have acted on it`,
      { calls, outcomeUnknown: true },
      undefined,
      { cause: error },
    );
  }

  if (error instanceof APIConnectionError) {
    return new KnockTransientError(
      `Knock unreachable for ${what}: ${error.message}`,
      { calls, outcomeUnknown: true },
      undefined,
      { cause: error },
    );
  }

  if (error instanceof APIError && typeof error.status === 'number') {
    const status = error.status;
    const id = error.headers?.get('x-request-id') ?? undefined;
    const details = { httpStatus: status, calls, ...(id ? { knockRequestId: id } : {}) };
    const detail = `Knock answered ${status} to ${what}${id ? ` (request ${id})` : ''}`;
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      return new KnockTransientError(
        detail,
        { ...details, outcomeUnknown: false },
        retryAfterSeconds(error.headers),
        { cause: error },
      );
    }

    return new KnockRejectedError(`${detail}: ${error.message}`, details, { cause: error });
  }

  // The client itself refused to build the request (a path segment of `..`,
  // a value it cannot put in a path): nothing was sent, and the same action
  // is refused the same way every time.
  if (error instanceof KnockError && !(error instanceof APIError)) {
    return new KnockRejectedError(
      `Knock's client refused to send ${what}: ${error.message}`,
      { calls: calls - 1 },
      { cause: error },
    );
  }

  return new KnockTransientError(
    `Knock call failed for ${what}: ${String(error)}`,
    { calls, outcomeUnknown: true },
    undefined,
    { cause: error },
  );
}

/** Retry-After in seconds (number or HTTP date), or undefined when absent or unreadable. */
function retryAfterSeconds(headers: Headers | undefined): number | undefined {
  const value = headers?.get('retry-after');
  if (!value) return undefined;

  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);

  return Number.isFinite(date) ? Math.max(0, (date - Date.now()) / 1000) : undefined;
}

function requestId(headers: Headers | undefined): { knockRequestId?: string } {
  const id = headers?.get('x-request-id');

  return id ? { knockRequestId: id } : {};
}
