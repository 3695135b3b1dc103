import { once } from 'node:events';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Telemetry } from '../lambda/handlers/telemetry';
import { createVerifierHandler } from '../lambda/handlers/verifier';

/** The local HTTP server in API Gateway's place. */
export interface GatewayServer {
  /** The webhook URL, `http://host:port/webhooks/stripe`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves POST /webhooks/stripe by calling the verifier handler with the
 * event API Gateway would build, and GET /health. A request cut off
 * mid-body is dropped without taking the server down; a body over 6 MB gets
 * 413, as in AWS.
 */
export async function startGatewayServer(
  verify: ReturnType<typeof createVerifierHandler>,
  telemetry: Telemetry,
  listen: { host: string; port: number },
): Promise<GatewayServer> {
  const server = createServer((req, res) => void route(req, res, verify, telemetry));
  server.listen(listen.port, listen.host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}/webhooks/stripe`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
    },
  };
}

/**
 * The largest body that reaches the verifier in AWS: a Lambda proxy
 * integration passes at most 6 MB to the function.
 */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;

/** API Gateway's part: the one route, the raw body, the same event shape. */
async function route(
  req: IncomingMessage,
  res: ServerResponse,
  verify: ReturnType<typeof createVerifierHandler>,
  telemetry: Telemetry,
): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://local');
    if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, '{"ok":true}');
    if (url.pathname !== '/webhooks/stripe') return send(res, 404, '{"error":"not_found"}');
    if (req.method !== 'POST') return send(res, 405, '{"error":"method_not_allowed"}');

    const body = await readBody(req);
    if (body === undefined) return send(res, 413, '{"error":"body_too_large"}', { connection: 'close' });

    const result = await verify(restApiEvent(req, url, body));
    send(res, result.statusCode, result.body, result.headers as Record<string, string>);
  } catch (error) {
    // A client that hangs up mid-body leaves nobody to answer; anything else is ours.
    if (req.destroyed || res.destroyed) return;
    telemetry.error('verifier failed', { error });
    send(res, 500, '{"error":"internal"}');
  }
}

/** The body, or undefined once it passes the limit (the rest is not read). */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_BODY_BYTES) return undefined;

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }

  return Buffer.concat(chunks);
}

/**
 * The event the deployed REST API (payload format 1.0) hands the verifier:
 * each header's last value in `headers` and every value in
 * `multiValueHeaders`, and a JSON body as text. A body that is not UTF-8
 * is passed as flagged base64, so the verifier still sees its exact bytes.
 */
function restApiEvent(req: IncomingMessage, url: URL, body: Buffer): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const value = req.rawHeaders[i + 1]!;
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const text = UTF8.decodeStrict(body);

  return {
    resource: '/webhooks/stripe',
    path: url.pathname,
    httpMethod: 'POST',
    headers,
    multiValueHeaders,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: { httpMethod: 'POST', path: url.pathname, resourcePath: '/webhooks/stripe' } as never,
    body: text ?? body.toString('base64'),
    isBase64Encoded: text === undefined,
  };
}

const UTF8 = {
  decoder: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }),
  decodeStrict(bytes: Buffer): string | undefined {
    try {
      return this.decoder.decode(bytes);
    } catch {
      return undefined;
    }
  },
};

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}
