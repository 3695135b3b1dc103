/**
 * Section 5: what a million events cost in AWS (us-east-1), from the use
 * per event measured in sections 1 and 3 and public list prices. Lambda's
 * billed time is mostly waiting on other services, which a local run
 * cannot measure: those waits are stated assumptions (`ASSUMED`), kept
 * apart from the measured figures so either can be changed.
 */

/** us-east-1 list prices, as of 2025 (the last prices known here; re-check before relying on them). */
export const PRICES = {
  asOf: '2025 (AWS public price pages; DynamoDB on-demand after the November 2024 cut)',
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  apiGatewayRestRequest: 3.5 / 1e6,
  sqsFifoRequest: 0.5 / 1e6,
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  dynamoStorageGbMonth: 0.25,
  secretsManagerCall: 0.05 / 10_000,
  cloudWatchLogsIngestGb: 0.5,
} as const;

/** What is not measured here, with the value used. */
export const ASSUMED = {
  /** One SQS SendMessage from Lambda in-region, milliseconds. */
  sqsSendMs: 8,
  /** One DynamoDB Get/Put/Update/Scan from Lambda in-region, milliseconds. */
  dynamoCallMs: 5,
  /** One Knock API request from us-east-1, milliseconds. */
  knockCallMs: 60,
  /** Lambda gives a full vCPU at 1769 MB and CPU in proportion below it. */
  fullCpuMemoryMb: 1769,
  /** Bytes logged per event: the verifier's line, the mapper's line, the API access log line. */
  logBytesPerEvent: 1500,
  /** Event log item kept for the retention period (30 days), bytes. */
  eventLogItemBytes: 1500,
  /** Warm containers reading secrets, each once per 300 s (2 verifier, 2 mapper). */
  secretReaders: 4,
  secretCacheSeconds: 300,
} as const;

/** What one event uses, measured by the other sections. */
export interface MeasuredUse {
  /** Verifier CPU per event on this machine, full core, microseconds. */
  readonly verifierCpuUs: number;
  /** Mapper CPU per event on this machine, full core, microseconds. */
  readonly mapperCpuUs: number;
  readonly dynamoCallsPerEvent: number;
  readonly dynamoReadUnits: number;
  readonly dynamoWriteUnits: number;
  readonly knockCallsPerEvent: number;
  /** SQS requests the verifier makes per event (SendMessage; one per 64 KiB). */
  readonly sqsSendsPerEvent: number;
  /** S3 requests per event (large bodies only). */
  readonly s3PerEvent: number;
}

export interface CostLine {
  readonly item: string;
  readonly usage: string;
  readonly dollars: number;
  readonly share: number;
}

export interface CostScenario {
  readonly batchSize: number;
  readonly mappingCache: boolean;
  readonly lines: readonly CostLine[];
  readonly totalPerMillion: number;
  readonly per10MillionMonth: number;
}

/** The cost of one million events with the given batch size and mapping cache. */
export function costPerMillion(
  use: MeasuredUse,
  { batchSize, mappingCache }: { batchSize: number; mappingCache: boolean },
  uncached: { extraDynamoCalls: number; extraReadUnits: number },
  monthlyEvents = 10_000_000,
): CostScenario {
  const million = 1e6;
  const verifierCpuMs = (use.verifierCpuUs / 1000) * (ASSUMED.fullCpuMemoryMb / 256);
  const verifierMs = Math.ceil(verifierCpuMs + ASSUMED.sqsSendMs * use.sqsSendsPerEvent);
  const dynamoCalls = use.dynamoCallsPerEvent + (mappingCache ? 0 : uncached.extraDynamoCalls);
  const readUnits = use.dynamoReadUnits + (mappingCache ? 0 : uncached.extraReadUnits);
  const mapperCpuMs = (use.mapperCpuUs / 1000) * (ASSUMED.fullCpuMemoryMb / 512);
  const mapperPerEventMs =
    mapperCpuMs + dynamoCalls * ASSUMED.dynamoCallMs + use.knockCallsPerEvent * ASSUMED.knockCallMs;
  // Billed per invocation, rounded up to the millisecond.
  const mapperMsPerEvent = Math.ceil(mapperPerEventMs * batchSize) / batchSize;
  const sqsRequests = use.sqsSendsPerEvent + 2 / batchSize;
  const secretCalls =
    ((ASSUMED.secretReaders * 30 * 86_400) / ASSUMED.secretCacheSeconds) * (million / monthlyEvents);

  const raw: Omit<CostLine, 'share'>[] = [
    { item: 'API Gateway REST requests', usage: '1 request', dollars: million * PRICES.apiGatewayRestRequest },
    {
      item: 'Lambda verifier (256 MB, ARM64)',
      usage: `1 invocation, ${verifierMs} ms billed`,
      dollars: million * (PRICES.lambdaRequest + 0.25 * (verifierMs / 1000) * PRICES.lambdaArmGbSecond),
    },
    {
      item: 'Lambda mapper (512 MB, ARM64)',
      usage: `1/${batchSize} invocation, ${mapperMsPerEvent.toFixed(1)} ms billed`,
      dollars:
        million * (PRICES.lambdaRequest / batchSize + 0.5 * (mapperMsPerEvent / 1000) * PRICES.lambdaArmGbSecond),
    },
    {
      item: 'SQS FIFO requests',
      usage: `${sqsRequests.toFixed(2)} (send ${use.sqsSendsPerEvent}, receive and delete per batch of ${batchSize})`,
      dollars: million * sqsRequests * PRICES.sqsFifoRequest,
    },
    {
      item: 'DynamoDB reads (on-demand)',
      usage: `${readUnits.toFixed(2)} RRU`,
      dollars: million * readUnits * PRICES.dynamoReadUnit,
    },
    {
      item: 'DynamoDB writes (on-demand)',
      usage: `${use.dynamoWriteUnits.toFixed(2)} WRU`,
      dollars: million * use.dynamoWriteUnits * PRICES.dynamoWriteUnit,
    },
    {
      item: 'DynamoDB storage (event log, 30 days)',
      usage: `${ASSUMED.eventLogItemBytes} B for a month (assumed)`,
      dollars: ((million * ASSUMED.eventLogItemBytes) / 1e9) * PRICES.dynamoStorageGbMonth,
    },
    {
      item: 'Secrets Manager calls',
      usage: `${(secretCalls / million).toExponential(1)} (cache 300 s, at ${monthlyEvents / 1e6} M/month)`,
      dollars: secretCalls * PRICES.secretsManagerCall,
    },
    {
      item: 'CloudWatch Logs ingestion',
      usage: `${ASSUMED.logBytesPerEvent} B (assumed)`,
      dollars: ((million * ASSUMED.logBytesPerEvent) / 1e9) * PRICES.cloudWatchLogsIngestGb,
    },
    {
      item: 'S3 (events over 1 MiB only)',
      usage: `${use.s3PerEvent} requests`,
      dollars: million * use.s3PerEvent * 0.005 / 1000,
    },
  ];
  const total = raw.reduce((sum, line) => sum + line.dollars, 0);

  return {
    batchSize,
    mappingCache,
    lines: raw.map((line) => ({ ...line, share: line.dollars / total })),
    totalPerMillion: total,
    per10MillionMonth: total * 10,
  };
}
