import Knock, { APIConnectionError, APIError } from '@knocklabs/node';
import { PermanentFailureError, TransientFailureError } from '../core/errors';
import { PlannedAction } from '../core/mapping/plan';
import { ActionOutcome, KnockActions } from '../core/ports';

/** Settings for the Knock client. */
export interface KnockApiActionsProps {
  readonly apiKey: string;
  /** The API base URL. @default https://api.knock.app */
  readonly baseURL?: string;
  /**
   * Quick in-process retries of 429, 5xx and connection faults, honouring
   * Retry-After; beyond these the message itself is retried by the queue.
   * @default 2
   */
  readonly maxRetries?: number;
  /** Per-request timeout in milliseconds. @default 10000 */
  readonly timeoutMs?: number;
}

/**
 * Performs planned actions through the official `@knocklabs/node` client.
 * Every request carries the action's deterministic `Idempotency-Key`, so a
 * repeat of the same event and mapping is dropped by Knock. Failures are
 * sorted into transient (408, 409, 429, 5xx, timeouts, resets) and
 * permanent (every other 4xx).
 */
export class KnockApiActions implements KnockActions {
  private readonly knock: Knock;

  constructor(props: KnockApiActionsProps) {
    this.knock = new Knock({
      apiKey: props.apiKey,
      ...(props.baseURL ? { baseURL: props.baseURL } : {}),
      maxRetries: props.maxRetries ?? 2,
      timeout: props.timeoutMs ?? 10_000,
      logLevel: 'off',
    });
  }

  async perform(action: PlannedAction): Promise<ActionOutcome> {
    try {
      const { response } = await this.call(action).withResponse();

      return {
        status: 'done',
        httpStatus: response.status,
        ...requestId(response.headers),
      };
    } catch (error) {
      throw classify(action, error);
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

function classify(action: PlannedAction, error: unknown): Error {
  const what = `${action.kind} ${action.request.method} ${action.request.path}`;
  if (error instanceof APIConnectionError) {
    return new TransientFailureError(`Knock unreachable for ${what}: ${error.message}`, undefined, {
      cause: error,
    });
  }

  if (error instanceof APIError && typeof error.status === 'number') {
    const status = error.status;
    const detail = `Knock answered ${status} to ${what}${requestIdText(error.headers)}`;
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      const retryAfter = Number(error.headers?.get('retry-after'));
      return new TransientFailureError(detail, Number.isFinite(retryAfter) ? retryAfter : undefined, {
        cause: error,
      });
    }

    return new PermanentFailureError(`${detail}: ${error.message}`, { cause: error });
  }

  return new TransientFailureError(`Knock call failed for ${what}: ${String(error)}`, undefined, {
    cause: error,
  });
}

function requestId(headers: Headers | undefined): { knockRequestId?: string } {
  const id = headers?.get('x-request-id');

  return id ? { knockRequestId: id } : {};
}

function requestIdText(headers: Headers | undefined): string {
  const id = headers?.get('x-request-id');

  return id ? ` (request ${id})` : '';
}
