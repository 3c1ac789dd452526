// What every service shares over HTTP: Fastify with schemas, problem+json errors, request ids,
// one log line per request, /healthz, /readyz and /metrics.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { isIP } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import swagger from '@fastify/swagger';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { ConfigError } from './config.ts';
import { ProblemError, problemBody, type ProblemBody } from './errors.ts';
import { describeServerSpan, logTraceFields, requestTraceId, traceRequests, tracingEnabled } from './telemetry.ts';

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface ServiceOptions {
  name: string;
  logLevel?: string;
  bodyLimitBytes?: number;
  /**
   * Each dependency and whether it answers. /readyz is 503 (`not_ready`) when a required one does not
   * (a plain boolean is required), 200 `degraded` when only optional ones do not, 200 `ready` otherwise.
   */
  readiness?: () => Promise<Record<string, boolean | DependencyCheck>>;
  /**
   * Proxies this service trusts for X-Forwarded-For (the gateway's address): `request.ip` is then the
   * address the nearest untrusted hop connected from. See `parseTrustedProxies`.
   */
  trustProxy?: boolean | string | string[];
}

/** Names Fastify's trustProxy (proxy-addr) understands besides addresses and CIDR ranges. */
const proxyRangeNames = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * A comma-separated list of trusted proxies: IPv4/IPv6 addresses, CIDR ranges (`10.0.0.0/8`,
 * `fd00::/8`) or the names `loopback` (127.0.0.1/8, ::1), `linklocal`, `uniquelocal`. Throws a
 * ConfigError naming `setting` on anything else; an empty list trusts nobody (X-Forwarded-For ignored).
 */
export function parseTrustedProxies(value: string, setting: string): string[] {
  const entries = value.split(',').map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) {
    if (proxyRangeNames.has(entry)) continue;
    const [address, bits, extra] = entry.split('/');
    const version = isIP(address ?? '');
    const bitsMax = version === 4 ? 32 : 128;
    const validBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= bitsMax);
    if (version === 0 || extra !== undefined || !validBits) {
      throw new ConfigError(`${setting}: "${entry}" is not an IP address, a CIDR range or one of ${[...proxyRangeNames].join(', ')}`);
    }
  }
  return entries;
}

/** One dependency as /readyz reports it. */
export interface DependencyCheck {
  up: boolean;
  /** Down and required: the service cannot do its work (unready). Down and not required: it works degraded. */
  required: boolean;
  /** What it means for the service (e.g. the outbox backlog while the broker is away). */
  detail?: string;
}

export interface Readiness {
  status: 'ready' | 'degraded' | 'not_ready';
  /** Whether each dependency answers (kept for callers that read booleans). */
  checks: Record<string, boolean>;
  dependencies: Record<string, { state: 'up' | 'down'; required: boolean; detail?: string }>;
}

/** The /readyz body from each dependency's check. */
export function readinessOf(results: Record<string, boolean | DependencyCheck>): Readiness {
  const checks: Readiness['checks'] = {};
  const dependencies: Readiness['dependencies'] = {};
  let status: Readiness['status'] = 'ready';
  for (const [name, result] of Object.entries(results)) {
    const { up, required, detail } = typeof result === 'boolean' ? { up: result, required: true, detail: undefined } : result;
    checks[name] = up;
    dependencies[name] = { state: up ? 'up' : 'down', required, ...(detail ? { detail } : {}) };
    if (!up) status = required ? 'not_ready' : status === 'not_ready' ? status : 'degraded';
  }
  return { status, checks, dependencies };
}

const requestIdPattern = /^[A-Za-z0-9._:-]{1,100}$/;
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Keys whose values never reach a log line, at any of the first three levels of a logged object. */
export const logSecretKeys = [
  'password', 'currentPassword', 'newPassword', 'current_password', 'new_password',
  'client_secret', 'clientSecret', 'secret', 'internalClientSecret', 'operatorClientSecret',
  'token', 'access_token', 'refresh_token', 'id_token', 'accessToken', 'refreshToken', 'idToken',
  'code', 'otp', 'totp', 'recovery_code', 'recoveryCodes', 'totpSecret', 'otpauthUri',
  'privateKey', 'private_key', 'privateJwk', 'totpEncryptionKey', 'keyEncryptionKey',
  'authorization', 'cookie', 'set-cookie',
];

export const logRedactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-internal-client-secret"]',
  'res.headers["set-cookie"]',
  ...logSecretKeys.flatMap((key) => {
    const k = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : `["${key}"]`;
    const at = (prefix: string) => (k.startsWith('[') ? `${prefix}${k}` : `${prefix}.${k}`);
    return [k.startsWith('[') ? `${k}` : k, at('*'), at('*.*')];
  }),
];

/** Query parameters whose values are replaced in the logged URL (nothing should send them there). */
const secretQueryParam = new RegExp(`([?&](?:${logSecretKeys.map((k) => k.replace(/[-]/g, '\\-')).join('|')})=)[^&#]*`, 'gi');

/** The request URL as logged: secret-looking query values replaced. */
export function loggedUrl(url: string): string {
  return url.includes('?') ? url.replace(secretQueryParam, '$1[redacted]') : url;
}

function validators() {
  // Bodies are never coerced: a JSON number must not quietly become an amount string.
  const strictAjv = addFormats(new Ajv({ removeAdditional: true, useDefaults: true, coerceTypes: false, allErrors: true, strict: false }));
  const coercingAjv = addFormats(new Ajv({ removeAdditional: true, useDefaults: true, coerceTypes: 'array', allErrors: true, strict: false }));
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? strictAjv : coercingAjv).compile(schema);
}

export function sendProblem(reply: FastifyReply, body: ProblemBody): FastifyReply {
  return reply.code(body.status).type('application/problem+json').send(body);
}

export async function createService(options: ServiceOptions): Promise<{ app: App; metrics: Registry }> {
  const app = Fastify({
    logger: {
      level: options.logLevel ?? 'info',
      base: { service: options.name },
      redact: { paths: logRedactPaths, censor: '[redacted]' },
      // trace_id and span_id on every line written while a span is active.
      mixin: logTraceFields,
    },
    // Traced: every request runs inside its server span (a wrapped listener; Fastify's own server otherwise).
    ...(tracingEnabled() ? { serverFactory: tracedServer } : {}),
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    // E-mail aliases may be 254 characters; longer path parameters get a problem+json 404 or 400.
    routerOptions: { maxParamLength: 512 },
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    },
    trustProxy: options.trustProxy ?? false,
    ajv: { customOptions: { removeAdditional: true } },
    connectionTimeout: 30_000,
    requestTimeout: 30_000,
    // Node checks these deadlines only every connectionsCheckingInterval (30 s by default), and with
    // its default headersTimeout (60 s) above the requestTimeout Fastify sets after creating the
    // server, a client trickling a body byte by byte was never cut off. Given at creation, both hold:
    // headers within 10 s, the whole request within 30 s, checked every second.
    http: { headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 },
    return503OnClosing: true,
    // Errors Fastify raises before routing (a malformed URL) get the same problem+json shape.
    frameworkErrors: (error, _request, reply) => {
      void sendProblem(reply, problemBody('validation_failed', error.message));
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setValidatorCompiler(validators());
  // JSON only (routes that take forms add their own parser): anything else is 415.
  app.removeContentTypeParser('text/plain');
  // Each service describes its own routes; the gateway merges them into one document at /docs.
  await app.register(swagger, {
    openapi: { info: { title: `wallet ${options.name}`, version: '1' }, components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } } },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const metrics = new Registry();
  metrics.setDefaultLabels({ service: options.name });
  collectDefaultMetrics({ register: metrics });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [metrics],
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    describeServerSpan(request.raw, request.routeOptions.url ?? 'unmatched', request.id);
  });
  // The request line's fields are fixed and its URL already cleaned (loggedUrl), so it skips the
  // wildcard redaction: that costs ~90 µs a line (measured), on every request of every service.
  const requestLines = app.log.child({}, { redact: { paths: [], censor: '[redacted]' } });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    httpDuration.observe({ method: request.method, route, status: reply.statusCode }, reply.elapsedTime / 1000);
    if (route === '/healthz' || route === '/readyz' || route === '/metrics') return;
    requestLines.info(
      {
        reqId: request.id,
        method: request.method,
        url: loggedUrl(request.url),
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        caller: request.caller?.subject,
        trace_id: requestTraceId(request.raw),
      },
      'request',
    );
  });

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    // A dependency that is down: tell the client when to try again instead of letting it hammer.
    if (error instanceof ProblemError && error.code === 'dependency_unavailable' && !reply.hasHeader('retry-after')) {
      reply.header('retry-after', String(error.retryAfterSeconds ?? 1));
    }
    return sendProblem(reply, toProblem(error, request));
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, problemBody('not_found', `No route for ${request.method} ${request.url.split('?')[0]}`)));

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const results = options.readiness ? await options.readiness().catch(() => ({ dependencies: false })) : {};
    const body = readinessOf(results);
    return reply.code(body.status === 'not_ready' ? 503 : 200).send(body);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type(metrics.contentType).send(await metrics.metrics());
  });

  return { app, metrics };
}

/** Fastify's HTTP/1 server, built the same way (its timeouts), with each request run in its span. */
const tracedServer = (
  handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void,
  options: { http?: import('node:http').ServerOptions; keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number },
) => {
  const server = createServer(options.http ?? {}, traceRequests(handler));
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
  server.setTimeout(options.connectionTimeout ?? 0);
  return server;
};

function toProblem(error: FastifyError, request: FastifyRequest): ProblemBody {
  if (error instanceof ProblemError) return error.toBody();
  if (error.validation) {
    const errors = error.validation.map((v) => ({ field: `${error.validationContext ?? ''}${v.instancePath || ''}` || String(v.params?.missingProperty ?? ''), message: v.message ?? 'is not valid' }));
    return problemBody('validation_failed', error.message, { errors });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problemBody('payload_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problemBody('unsupported_media_type', 'Send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return problemBody('malformed_json');
  }
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) return problemBody('malformed_json');
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return problemBody('validation_failed', error.message);
  }
  // A client that went away mid-request is not a fault of ours: note it quietly.
  if (error.name === 'RequestAbortedError' || request.raw.destroyed) {
    request.log.debug({ err: error.message }, 'client went away');
    return problemBody('internal_error');
  }
  request.log.error({ err: error }, 'unhandled error');
  return problemBody('internal_error');
}

/** Drains in-flight requests and then closes what the service opened, once, on SIGTERM or SIGINT. */
export function closeOnSignals(close: () => Promise<void>, log: FastifyBaseLogger): void {
  let closing = false;
  const onSignal = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    close()
      .then(() => process.exit(0))
      .catch((error) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
}
