import { EventSummary } from './stripe-event';
import { KnockRequest } from './mapping/actions';
import { PlannedAction } from './mapping/plan';
import { Mapping } from './mapping/types';

/**
 * The outside systems the pipeline talks to, as the handlers see them. The
 * Lambdas wire AWS adapters to these; the local run wires the same AWS
 * adapters to embedded endpoints, or in-memory ones where AWS has no
 * embeddable stand-in. Nothing in the core knows which.
 */

/** The Stripe signing secrets currently valid (several while rolling). */
export interface SigningSecrets {
  /** The cached secrets, fetched when the cache has expired. */
  current(): Promise<readonly string[]>;
  /**
   * Fetches again now, at most once per refresh interval, for a signature
   * that failed right after a rotation. Undefined when refused by the limit.
   */
  refresh(): Promise<readonly string[] | undefined>;
}

/** A verified delivery on its way to the mapper. */
export interface QueuedEvent {
  readonly summary: EventSummary;
  /** The body exactly as Stripe sent it. */
  readonly body: Uint8Array;
  /**
   * The same body as the text the verifier already decoded and checked, so
   * the queue need not decode it again. Omitted, the queue decodes `body`.
   */
  readonly text?: string;
  /** Deliveries with the same group are processed one at a time, in order. */
  readonly groupId: string;
  /** When the verifier accepted it, epoch milliseconds. */
  readonly receivedAt: number;
}

/** The durable hand-off between the verifier and the mapper. */
export interface EventQueue {
  /** Resolves only once the event is durably stored; rejects otherwise. */
  enqueue(event: QueuedEvent): Promise<void>;
}

/** Where the mapper reads mappings from. */
export interface MappingSource {
  /** Every mapping (enabled or not), cached for a short time. */
  all(): Promise<readonly Mapping[]>;
}

/** How one Knock action ended. */
export interface ActionOutcome {
  readonly status: 'done' | 'dry_run';
  readonly httpStatus?: number;
  readonly knockRequestId?: string;
  /** HTTP requests sent for the action, quick retries included. */
  readonly calls?: number;
  /** Something worth a line in the event log, such as a 404 taken as done. */
  readonly note?: string;
}

/** Performs Knock actions. */
export interface KnockActions {
  /**
   * Sends the action's request. Rejects with TransientFailureError when a
   * retry may succeed and PermanentFailureError when it cannot.
   * `beforeRetry` runs before each quick retry (the stale check is made
   * again there) and may reject to stop retrying.
   */
  perform(
    action: PlannedAction,
    options?: { readonly beforeRetry?: () => Promise<void> },
  ): Promise<ActionOutcome>;
}

/** The final status of an event in the event log. */
export type EventStatus = 'processing' | 'done' | 'skipped' | 'failed' | 'dead_lettered';

/** What happened to one planned action. */
export interface ActionRecord {
  readonly mappingId: string;
  readonly kind: string;
  readonly request: KnockRequest;
  readonly status: 'done' | 'dry_run' | 'skipped' | 'failed' | 'pending';
  readonly reason?: string;
  readonly httpStatus?: number;
  readonly knockRequestId?: string;
  readonly attempts: number;
  /** HTTP requests sent to Knock for this action in its last delivery, quick retries included. */
  readonly calls?: number;
  readonly note?: string;
  /**
   * The last attempt timed out or was cut off after sending: Knock may have
   * acted on it. A retry within 24 hours is safe for triggers (Knock
   * honours the Idempotency-Key) and for upserts; later it may notify twice.
   */
  readonly outcomeUnknown?: boolean;
}

/** One Stripe event's entry in the event log. */
export interface EventRecord {
  readonly eventId: string;
  readonly type: string;
  readonly created: number;
  readonly livemode: boolean;
  readonly apiVersion?: string;
  readonly customer?: string;
  /** Epoch milliseconds of the first delivery the mapper saw. */
  readonly receivedAt: number;
  readonly updatedAt: number;
  readonly status: EventStatus;
  readonly reason?: string;
  readonly matched: readonly string[];
  readonly skipped: readonly { mappingId: string; reason: string }[];
  readonly actions: readonly ActionRecord[];
  /** Deliveries the mapper has processed, duplicates included. */
  readonly attempts: number;
  /**
   * Only events whose signature checked out reach the mapper; rejected
   * deliveries are logged and counted by the verifier, never written here,
   * so an unsigned request cannot mark a real event id as handled.
   */
  readonly verification?: 'signature_verified';
  /** When the verifier accepted the first delivery, epoch milliseconds. */
  readonly arrivedAt?: number;
  /** SQS's receive count of the latest delivery processed. */
  readonly receiveCount?: number;
  /** When the status became final, epoch milliseconds. */
  readonly finishedAt?: number;
  /** Deliveries dropped because the event had already finished. */
  readonly duplicates?: number;
  readonly lastDuplicateAt?: number;
  /** Times the event was replayed from the dead-letter queue. */
  readonly replays?: number;
  readonly replayedAt?: number;
}

/** The event log, which is also the dedupe record. */
export interface EventLog {
  get(eventId: string): Promise<EventRecord | undefined>;
  /** Writes the record; a final status is never overwritten by a non-final one. */
  put(record: EventRecord): Promise<void>;
  /** Counts a delivery of an event already finished, without changing it. */
  countDuplicate(eventId: string): Promise<void>;
}

/** Digests of one event's object, enough to order it against another on a tie. */
export interface ObjectFingerprint {
  /** `<object type>:<id>`; only fingerprints of the same Stripe object are compared. */
  readonly ref: string;
  /** Digest of each leaf field of `data.object`, by dot path. */
  readonly fields: Readonly<Record<string, string>>;
  /** Digest of each leaf of `data.previous_attributes`, by dot path; empty when absent. */
  readonly previous: Readonly<Record<string, string>>;
}

/** The version last applied to a Knock record. */
export interface AppliedVersion {
  readonly created: number;
  readonly eventId: string;
  readonly fingerprint?: ObjectFingerprint;
}

/** The newest Stripe event applied to each Knock record. */
export interface ObjectVersions {
  /** The version last applied to this state key. */
  get(stateKey: string): Promise<AppliedVersion | undefined>;
  /**
   * Records an applied event unless a newer one is already recorded.
   * Returns false when a newer one won, meaning this write is stale. The
   * fingerprint, when given, breaks ties within one second later on.
   */
  advance(stateKey: string, created: number, eventId: string, fingerprint?: ObjectFingerprint): Promise<boolean>;
}

/** Bodies too large for a queue message. */
export interface LargeBodyStore {
  put(key: string, body: Uint8Array): Promise<{ bucket: string; key: string }>;
  get(location: { bucket: string; key: string }): Promise<Uint8Array>;
}

/** The dead-letter queue, for messages that no retry can fix. */
export interface DeadLetters {
  /** Moves a message there with the reason, keeping its body and attributes. */
  send(message: {
    readonly body: string;
    readonly attributes: Readonly<Record<string, string>>;
    readonly groupId: string;
    readonly dedupeId: string;
    readonly reason: string;
  }): Promise<void>;
}
