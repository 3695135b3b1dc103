/**
 * Counts the AWS API requests a client makes, by command, with the
 * capacity DynamoDB reports for each, through an SDK middleware: the
 * adapters run unchanged and every request is seen.
 */

/** Requests and consumed capacity seen so far. */
export class RequestCounter {
  readonly requests = new Map<string, number>();
  readCapacity = 0;
  writeCapacity = 0;

  get total(): number {
    let sum = 0;
    for (const n of this.requests.values()) sum += n;

    return sum;
  }

  snapshot(): { requests: Record<string, number>; total: number; readCapacity: number; writeCapacity: number } {
    return {
      requests: Object.fromEntries(this.requests),
      total: this.total,
      readCapacity: this.readCapacity,
      writeCapacity: this.writeCapacity,
    };
  }

  reset(): void {
    this.requests.clear();
    this.readCapacity = 0;
    this.writeCapacity = 0;
  }
}

interface Capacity {
  readonly ReadCapacityUnits?: number;
  readonly WriteCapacityUnits?: number;
  readonly CapacityUnits?: number;
}

/** The slice of an SDK client this needs. */
interface ClientWithStack {
  middlewareStack: {
    add(middleware: unknown, options: { step: 'initialize'; name: string; override?: boolean }): void;
  };
}

/**
 * Counts every command the client sends. For DynamoDB, asks for the
 * consumed capacity and adds it up (dynalite computes it as DynamoDB does).
 * With `respond`, answers without sending: for queues and buckets that
 * exist only to be counted.
 */
export function countRequests(
  client: ClientWithStack,
  counter: RequestCounter,
  { dynamo = false, respond }: { dynamo?: boolean; respond?: (command: string) => unknown } = {},
): void {
  const middleware =
    (next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>,
      context: { commandName?: string }) =>
    async (args: { input: Record<string, unknown> }) => {
      const command = (context.commandName ?? 'unknown').replace(/Command$/, '');
      counter.requests.set(command, (counter.requests.get(command) ?? 0) + 1);
      if (respond) return { output: { $metadata: {}, ...(respond(command) as object) }, response: {} };

      if (dynamo) args.input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      if (dynamo) addCapacity(counter, command, result.output.ConsumedCapacity as Capacity | undefined);

      return result;
    };

  client.middlewareStack.add(middleware, { step: 'initialize', name: 'benchRequestCounter', override: true });
}

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);

function addCapacity(counter: RequestCounter, command: string, capacity: Capacity | undefined): void {
  if (!capacity) return;
  const reads = capacity.ReadCapacityUnits ?? 0;
  const writes = capacity.WriteCapacityUnits ?? 0;
  const unsplit = capacity.CapacityUnits ?? 0;
  counter.readCapacity += reads;
  counter.writeCapacity += writes;
  // dynalite reports only the total: reads for reading commands, writes otherwise.
  if (reads === 0 && writes === 0) {
    if (READS.has(command)) counter.readCapacity += unsplit;
    else counter.writeCapacity += unsplit;
  }
}
