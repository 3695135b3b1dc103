import { once } from 'node:events';
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
 * event API Gateway would build, and GET /health.
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

/** API Gateway's part: the one route, the raw body, the same event shape. */
async function route(
  req: IncomingMessage,
  res: ServerResponse,
  verify: ReturnType<typeof createVerifierHandler>,
  telemetry: Telemetry,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, '{"ok":true}');
  if (url.pathname !== '/webhooks/stripe') return send(res, 404, '{"error":"not_found"}');
  if (req.method !== 'POST') return send(res, 405, '{"error":"method_not_allowed"}');

  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers[name] = value;
  }

  try {
    // As API Gateway does for a binary payload: base64 text, flagged.
    const result = await verify({
      version: '2.0',
      routeKey: 'POST /webhooks/stripe',
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      body: body.toString('base64'),
      isBase64Encoded: true,
      requestContext: { http: { method: 'POST', path: url.pathname } },
    } as never);
    send(res, result.statusCode, result.body, result.headers as Record<string, string>);
  } catch (error) {
    telemetry.error('verifier failed', { error });
    send(res, 500, '{"error":"internal"}');
  }
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}
