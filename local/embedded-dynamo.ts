import { once } from 'node:events';
import { AddressInfo } from 'node:net';

/** A DynamoDB-compatible server in this process. */
export interface EmbeddedDynamo {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * Starts dynalite (the DynamoDB API over an in-memory LevelDB) on loopback
 * at a free port, with table operations taking effect at once.
 */
export async function startEmbeddedDynamo(): Promise<EmbeddedDynamo> {
  // dynalite ships no types.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as (options: Record<string, number>) => import('node:net').Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
