// A stand-in for one service behind the gateway: records every request it receives (method, URL,
// headers, body bytes) and answers with where the request landed.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeUpstream {
  name: string;
  url: string;
  requests: RecordedRequest[];
  /** What the gateway forwarded for clients (it sends those with a request id; its own calls for
   *  keys, health and docs have none). */
  forwarded(): RecordedRequest[];
  close(): Promise<void>;
}

export type Special = (request: RecordedRequest, response: ServerResponse) => boolean | Promise<boolean>;

export function openApiFor(service: string, publicPaths: string[]): object {
  const op = (summary: string) => ({ get: { summary, security: [{ bearer: [] }], responses: { 200: { description: 'ok' } } } });
  return {
    openapi: '3.0.3',
    info: { title: `wallet ${service}`, version: '1' },
    paths: {
      ...Object.fromEntries(publicPaths.map((path) => [path, op(`${service} ${path}`)])),
      [`/internal/${service}/secret`]: op('internal'),
      '/healthz': op('health'),
      '/metrics': op('metrics'),
    },
    components: {
      schemas: { [`${service[0]!.toUpperCase()}${service.slice(1)}Thing`]: { type: 'object' }, Problem: { type: 'object', description: service } },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

export async function startFakeUpstream(name: string, options: { openApiPaths?: string[]; special?: Special } = {}): Promise<FakeUpstream> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    const recorded: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: await readBody(req) };
    requests.push(recorded);
    if (options.special && (await options.special(recorded, res))) return;
    if (recorded.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (recorded.url === '/openapi.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(openApiFor(name, options.openApiPaths ?? [])));
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json', 'x-upstream': name })
      .end(JSON.stringify({ upstream: name, method: recorded.method, url: recorded.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    name,
    url,
    requests,
    forwarded: () => requests.filter((r) => r.headers['x-request-id'] !== undefined),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Sends one request with the path exactly as given (HTTP clients, and app.inject, normalize dot
 * segments away before sending) and returns the status and body.
 */
export async function rawRequest(baseUrl: string, requestLine: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const head = Object.entries({ host: 'gateway.test', connection: 'close', ...headers })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  // Not end(): a half-closed socket may be dropped before the answer; `connection: close` ends it.
  socket.write(`${requestLine} HTTP/1.1\r\n${head}\r\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  return { status, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

/** A port nothing listens on (bound, then released). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
