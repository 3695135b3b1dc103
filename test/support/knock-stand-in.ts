import { once } from 'node:events';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { useForTestFile } from './test-file-resource';

/** One request the stand-in received. */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | undefined;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

/** What the stand-in answers; the default is 200 with a request id. */
export type Responder = (
  request: ReceivedRequest,
) => { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number };

/** A local HTTP server playing the Knock API, recording every request. */
export interface KnockStandIn {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  respondWith(responder: Responder): void;
  stop(): Promise<void>;
}

let counter = 0;

/** Starts the stand-in on 127.0.0.1 at a free port. */
export async function startKnockStandIn(): Promise<KnockStandIn> {
  const requests: ReceivedRequest[] = [];
  let responder: Responder = () => ({ status: 200 });

  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const request: ReceivedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      idempotencyKey: header(req, 'idempotency-key'),
      authorization: header(req, 'authorization'),
      body: text ? JSON.parse(text) : undefined,
    };
    requests.push(request);

    const answer = responder(request);
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (res.destroyed) return;
    res.writeHead(answer.status, {
      'content-type': 'application/json',
      'x-request-id': `req_standin_${++counter}`,
      ...answer.headers,
    });
    res.end(JSON.stringify(answer.body ?? defaultBody(request)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respondWith(next) {
      responder = next;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A stand-in whose lifetime the test file's hooks own. */
export type ManagedKnockStandIn = Omit<KnockStandIn, 'stop'>;

/**
 * Starts one stand-in for the test file in `beforeAll` and stops it in
 * `afterAll`. What it answers and what it received carry over from test to
 * test; a file that wants a fresh start sets that in its own `beforeEach`.
 */
export function useKnockStandIn(): ManagedKnockStandIn {
  const started = useForTestFile('The Knock stand-in', startKnockStandIn, (knock) => knock.stop());

  return {
    get url() {
      return started().url;
    },
    get requests() {
      return started().requests;
    },
    respondWith(responder) {
      started().respondWith(responder);
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];

  return Array.isArray(value) ? value[0] : value;
}

function defaultBody(request: ReceivedRequest): unknown {
  if (request.path.endsWith('/trigger')) return { workflow_run_id: `wr_${counter}` };

  return { __typename: 'Ok' };
}
