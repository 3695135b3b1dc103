import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { EventRecord } from '../core/ports';

type Fields = Record<string, unknown>;

/**
 * What the handlers report about each event: one call per thing that
 * happened, so the Lambda can log JSON and emit metrics while the local run
 * prints readable lines, from the same handler code.
 */
export interface Telemetry {
  /** A delivery passed the signature check and is on the queue. */
  accepted(fields: { eventId: string; eventType: string; secretIndex: number; bytes: number }): void;
  /** A delivery was refused at the door. */
  rejected(reason: string, fields: Fields): void;
  /** The mapper finished with an event (done, skipped or duplicate). */
  processed(outcome: 'done' | 'skipped' | 'duplicate', record: EventRecord): void;
  /** The mapper could not finish an event; it will be retried or was dead-lettered. */
  failed(disposition: 'retry' | 'dead_lettered', fields: Fields): void;
  warn(message: string, fields: Fields): void;
  error(message: string, fields: Fields): void;
}

/** Telemetry for Lambda: Powertools structured logs and CloudWatch metrics (EMF). */
export class PowertoolsTelemetry implements Telemetry {
  constructor(
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  accepted(fields: Parameters<Telemetry['accepted']>[0]): void {
    this.logger.info('event accepted', fields);
    this.count('EventAccepted');
  }

  rejected(reason: string, fields: Fields): void {
    this.logger.warn('delivery rejected', { ...fields, reason });
    this.count('SignatureRejected');
  }

  processed(outcome: 'done' | 'skipped' | 'duplicate', record: EventRecord): void {
    this.logger.info(`event ${outcome}`, {
      eventId: record.eventId,
      eventType: record.type,
      status: record.status,
      reason: record.reason,
      matched: record.matched,
      skipped: record.skipped,
      actions: record.actions.map((a) => ({
        mappingId: a.mappingId,
        kind: a.kind,
        status: a.status,
        httpStatus: a.httpStatus,
        knockRequestId: a.knockRequestId,
        reason: a.reason,
      })),
    });
    this.count(outcome === 'done' ? 'EventDone' : outcome === 'skipped' ? 'EventSkipped' : 'EventDuplicate');
  }

  failed(disposition: 'retry' | 'dead_lettered', fields: Fields): void {
    this.logger.error(`event ${disposition === 'retry' ? 'will be retried' : 'dead-lettered'}`, fields);
    this.count(disposition === 'retry' ? 'EventRetried' : 'EventDeadLettered');
  }

  warn(message: string, fields: Fields): void {
    this.logger.warn(message, fields);
  }

  error(message: string, fields: Fields): void {
    this.logger.error(message, fields);
  }

  private count(name: string): void {
    this.metrics.addMetric(name, MetricUnit.Count, 1);
  }
}
