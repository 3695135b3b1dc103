import { PlannedAction } from '../../lambda/core/mapping/plan';
import { ActionOutcome, KnockActions } from '../../lambda/core/ports';

/** A Knock double that answers every action done with a 200 and keeps it, in order. */
export class RecordingKnock implements KnockActions {
  readonly actions: PlannedAction[] = [];

  async perform(action: PlannedAction): Promise<ActionOutcome> {
    this.actions.push(action);

    return { status: 'done', httpStatus: 200 };
  }

  /** The actions planned for one Stripe event, found by their idempotency keys. */
  for(eventId: string): PlannedAction[] {
    return this.actions.filter((a) => a.idempotencyKey.includes(`:${eventId}:`));
  }
}
