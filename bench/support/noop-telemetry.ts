import { Telemetry } from '../../lambda/handlers/telemetry';

/**
 * Telemetry that records nothing, so a timing measures the handler's own
 * work and not a log sink. Counts calls, to check what happened.
 */
export class CountingTelemetry implements Telemetry {
  readonly counts = { accepted: 0, rejected: 0, processed: 0, failed: 0, warn: 0, error: 0 };
  readonly rejections: string[] = [];
  readonly errors: unknown[] = [];

  accepted(): void {
    this.counts.accepted += 1;
  }

  rejected(reason: string): void {
    this.counts.rejected += 1;
    this.rejections.push(reason);
  }

  processed(): void {
    this.counts.processed += 1;
  }

  failed(_disposition: string, fields: Record<string, unknown>): void {
    this.counts.failed += 1;
    this.errors.push(fields);
  }

  warn(): void {
    this.counts.warn += 1;
  }

  error(_message: string, fields: Record<string, unknown>): void {
    this.counts.error += 1;
    this.errors.push(fields);
  }
}
