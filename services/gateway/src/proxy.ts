// Forwarding to the services with @fastify/reply-from over keep-alive connections, each request to
// one instance of its service (balancer.ts). Bodies and query
// strings pass through byte for byte; identity headers a client might forge are dropped, the
// request id and X-Forwarded-* are set here.
import replyFrom, { type FastifyReplyFromHooks } from '@fastify/reply-from';
import type { FastifyReply, FastifyRequest, onRequestHookHandler, RouteHandlerMethod } from 'fastify';
import { injectTraceHeaders, problemBody, ProblemError, type App, type TokenVerifier } from '@wallet/kit';
import type { GatewayConfig, UpstreamName } from './config.ts';
import { identifyCaller, requireCaller } from './edge-auth.ts';
import { breakersOf, createBalancer, type Balancer, type Instance, type UpstreamBreaker } from './balancer.ts';
import type { Limiters } from './rate-limit.ts';
import { callerRoutes, publicRoutes, streamRoutes, type ProxyRoute } from './routes.ts';

/**
 * Headers that only the gateway may set. Services verify the token themselves and must never
 * believe a caller identity or a client address a client wrote.
 */
const droppedRequestHeader = /^(x-caller|x-user|x-auth|x-internal|x-wallet|x-forwarded|x-real-ip$|forwarded$|x-client-ip$)/;

/**
 * The path as the client sent it, if it is canonical: no dot segments (plain or percent-encoded),
 * no encoded slashes or backslashes, no control characters. The same string then names the same
 * resource here and at the service, so no path can climb out of its route (e.g. into /internal).
 */
export function canonicalPath(rawUrl: string): string | undefined {
  const queryAt = rawUrl.indexOf('?');
  const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  if (!path.startsWith('/') || path.startsWith('//') || path.includes('\\') || /%(2f|5c|00)/i.test(path)) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(decoded)) return undefined;
  if (decoded.split('/').some((segment) => segment === '.' || segment === '..')) return undefined;
  if (new URL(path, 'http://gateway.invalid').pathname !== path) return undefined;
  return path;
}

/** X-Forwarded-For as the services should see it: the client first, then each proxy we trust. */
function forwardedFor(request: Pick<FastifyRequest, 'ip' | 'ips'>, trustsProxies: boolean): string {
  if (!trustsProxies || !request.ips) return request.ip;
  return [...request.ips].reverse().join(', ');
}

type RewriteRequestHeaders = NonNullable<FastifyReplyFromHooks['rewriteRequestHeaders']>;

function rewriteRequestHeaders(trustsProxies: boolean): RewriteRequestHeaders {
  return (request, headers) => {
    const out: ReturnType<RewriteRequestHeaders> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (!droppedRequestHeader.test(name)) out[name] = value;
    }
    out['x-request-id'] = request.id;
    out['x-forwarded-for'] = forwardedFor(request, trustsProxies);
    out['x-forwarded-proto'] = request.protocol;
    if (request.host) out['x-forwarded-host'] = request.host;
    return injectTraceHeaders(out); // the gateway's server span becomes the service's parent
  };
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A service that cannot be reached is a 503 problem; one that does not answer in time a 504. */
function upstreamFailed(upstream: UpstreamName, timeoutMs: number): NonNullable<FastifyReplyFromHooks['onError']> {
  return (reply, { error }) => {
    const code = errorCode(error);
    const causeCode = errorCode(error.cause);
    const timedOut = code === 'FST_REPLY_FROM_GATEWAY_TIMEOUT' || causeCode === 'UND_ERR_HEADERS_TIMEOUT' || code === 'FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT';
    // reply-from has already logged the error with the request id.
    const body = timedOut
      ? problemBody('upstream_timeout', `The ${upstream} service did not answer within ${timeoutMs / 1000} s; the request may still have been applied`)
      : problemBody('dependency_unavailable', `The ${upstream} service is unavailable`);
    if (!timedOut) reply.header('retry-after', '1');
    reply.code(body.status).type('application/problem+json').send(body);
  };
}

const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS']);
const readMethods = new Set(['GET', 'HEAD']);
/** No connection was made: nothing of the request reached the instance. */
const connectFailures = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** What counts against an instance's breaker besides a failed connection: no answer, or a broken one. */
const instanceFailures = new Set(['FST_REPLY_FROM_GATEWAY_TIMEOUT', 'FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_SOCKET', 'ECONNRESET']);

/** Every instance's breaker is open: answered at once, without waiting for any upstream timeout. */
function allUnavailable(reply: FastifyReply, balancer: Balancer) {
  const body = problemBody('dependency_unavailable', `The ${balancer.upstream} service is unavailable`);
  reply.header('retry-after', String(balancer.retryAfterSeconds()));
  return reply.code(body.status).type('application/problem+json').send(body);
}

function forwardTo(upstream: UpstreamName, config: GatewayConfig, balancer: Balancer): RouteHandlerMethod {
  const trustsProxies = config.trustedProxies.length > 0;
  const failed = upstreamFailed(upstream, config.upstreamTimeoutMs);
  const options: FastifyReplyFromHooks = {
    rewriteRequestHeaders: rewriteRequestHeaders(trustsProxies),
    // One retry, and only of a read whose kept-alive connection the service had already closed;
    // never on a 5xx answer (reply-from's default retries a GET on 503 up to ten times).
    retryDelay: ({ err, req, attempt }) =>
      err && attempt < 1 && idempotentMethods.has(req.method) && ['UND_ERR_SOCKET', 'ECONNRESET'].includes(errorCode(err) ?? '') ? 10 : null,
  };
  return async function forward(request, reply) {
    const path = canonicalPath(request.raw.url ?? '');
    if (!path) throw new ProblemError('validation_failed', 'The request path is not in canonical form');
    const body = request.body;
    const bodyOptions =
      body === undefined
        ? {}
        : request.method === 'GET' || request.method === 'HEAD'
          ? { body: null } // a body on a read is not forwarded
          : { body, contentType: request.headers['content-type'] ?? 'application/octet-stream' };

    // A failed connection may be tried once more elsewhere: a read always, a write only if it was
    // refused (nothing sent). A write that may have reached the service is never sent twice.
    const mayRetry = (cause: string) => (readMethods.has(request.method) ? connectFailures.has(cause) : cause === 'ECONNREFUSED');

    const send = (instance: Instance, retried: boolean): void => {
      let fired = false;
      instance.breaker
        .fire(() => {
          fired = true;
          return forwardOnce(instance, retried);
        })
        .catch(() => {
          // The breaker refused at once (it opened since the pick): the request went nowhere.
          if (fired) return;
          const other = retried ? undefined : balancer.pick(instance);
          if (other) send(other, true);
          else allUnavailable(reply, balancer);
        });
    };

    /** Settles when the instance answered (or the client left), rejects when the instance failed. */
    const forwardOnce = (instance: Instance, retried: boolean) =>
      new Promise<void>((resolve, reject) => {
        instance.outstanding++;
        let finished = false;
        const finish = () => {
          if (!finished) instance.outstanding--;
          finished = true;
        };
        reply.raw.once('close', () => {
          finish();
          resolve();
        });
        // The query string is taken from the original URL, unchanged.
        reply.from(`${instance.url}${path}`, {
          ...options,
          ...bodyOptions,
          onResponse: (_request, reply, res) => {
            resolve();
            return reply.send((res as unknown as { stream: NodeJS.ReadableStream }).stream);
          },
          onError: (reply, { error }) => {
            finish();
            const cause = errorCode(error.cause) ?? errorCode(error) ?? '';
            // An instance that cannot be connected to is down: skip it until its breaker half-opens. With one
            // URL (in Kubernetes a Service name, many pods) one refused connection says little; the error
            // rate decides.
            if (connectFailures.has(cause) && balancer.instances.length > 1) instance.breaker.open();
            if (connectFailures.has(cause) || instanceFailures.has(cause) || instanceFailures.has(errorCode(error) ?? '')) reject(error);
            else resolve();
            const other = !retried && mayRetry(cause) ? balancer.pick(instance) : undefined;
            if (other) send(other, true);
            else failed(reply, { error });
          },
        });
      });

    const first = balancer.pick();
    if (first) send(first, false);
    else allUnavailable(reply, balancer);
    return reply;
  };
}

function addRoutes<R extends ProxyRoute>(
  scope: App,
  routes: readonly R[],
  config: GatewayConfig,
  balancers: Readonly<Record<UpstreamName, Balancer>>,
  onRequest?: (route: R) => onRequestHookHandler,
) {
  for (const route of routes) {
    scope.route({
      method: [...route.methods],
      url: route.url,
      exposeHeadRoute: false,
      schema: { hide: true },
      ...(route.largeBody ? { bodyLimit: config.batchBodyLimitBytes } : {}),
      ...(onRequest ? { onRequest: onRequest(route) } : {}),
      handler: forwardTo(route.upstream, config, balancers[route.upstream]),
    });
  }
}

export interface ProxyDeps {
  config: GatewayConfig;
  verifier: TokenVerifier;
  limiters: Limiters;
}

/** Upstream connections: `connections` per service (null: as many as needed). */
function upstreamAgent(config: GatewayConfig, connections: number | null) {
  return {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: config.upstreamTimeoutMs,
    bodyTimeout: config.upstreamBodyIdleTimeoutMs,
    connect: { timeout: config.upstreamConnectTimeoutMs },
  };
}

function createBalancers(config: GatewayConfig): Record<UpstreamName, Balancer> {
  const options = { resetMs: config.upstreamBreakerResetMs };
  const entries = (Object.entries(config.upstreamInstances) as [UpstreamName, readonly string[]][]).map(([name, urls]) => [name, createBalancer(name, urls, options)]);
  return Object.fromEntries(entries) as Record<UpstreamName, Balancer>;
}

/** Registers the proxy routes; returns every instance's circuit breaker (for a breaker-state gauge). */
export async function registerProxy(app: App, { config, verifier, limiters }: ProxyDeps): Promise<UpstreamBreaker[]> {
  const balancers = createBalancers(config);
  const breakers = breakersOf(balancers);
  app.addHook('onClose', async () => {
    for (const { breaker } of breakers) breaker.shutdown();
  });
  await app.register(async (proxy: App) => {
    // Bodies are read as bytes (the body limit still applies) and forwarded untouched: the service
    // parses and validates them, and a re-serialized JSON body could differ from what was signed.
    proxy.removeAllContentTypeParsers();
    proxy.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

    const requireToken = (scope: App) => {
      scope.addHook('onRequest', identifyCaller(verifier));
      scope.addHook('onRequest', limiters.caller);
      scope.addHook('onRequest', requireCaller);
    };

    await proxy.register(async (regular: App) => {
      await regular.register(replyFrom, { disableRequestLogging: true, destroyAgent: true, undici: upstreamAgent(config, config.upstreamConnectionsMax) });
      await regular.register(async (open: App) => {
        addRoutes(open, publicRoutes, config, balancers, (route) => limiters[route.limit]);
      });
      await regular.register(async (guarded: App) => {
        requireToken(guarded);
        addRoutes(guarded, callerRoutes, config, balancers);
      });
    });

    // Event streams: their own connections to the services (an open stream holds one for as long as it
    // lasts), no limit on how long a response takes, only on silence inside it (bodyTimeout; the
    // services send heartbeats). Token and rate limit as for any request, counted once, at connect.
    await proxy.register(async (streams: App) => {
      await streams.register(replyFrom, { disableRequestLogging: true, destroyAgent: true, undici: upstreamAgent(config, null) });
      requireToken(streams);
      const open = new Set<FastifyReply>();
      const keepOpen: onRequestHookHandler = async (request, reply) => {
        // The client's connection may be quiet between heartbeats longer than the server's idle timeout.
        request.raw.socket.setTimeout(0);
        open.add(reply);
        reply.raw.once('close', () => open.delete(reply));
      };
      // Streams do not end on their own: closing the gateway ends them (clients reconnect elsewhere).
      streams.addHook('preClose', (done) => {
        for (const reply of open) reply.raw.destroy();
        done();
      });
      addRoutes(streams, streamRoutes, config, balancers, () => keepOpen);
    });
  });
  return breakers;
}
