// The gateway: the one public entry. Routes each public path to its service, checks access tokens at
// the edge, rate-limits, sets request ids, limits body sizes and serves the merged API docs.
// It also serves the browser app (web.ts). It keeps no data of its own; only the rate-limit counters live in Redis (or memory when embedded).
import { createService, observeBreaker, type DependencyCheck, type Infra, type RunningService } from '@wallet/kit';
import type { GatewayConfig, UpstreamName } from './config.ts';
import { registerDocs } from './docs.ts';
import { createEdgeVerifier } from './edge-auth.ts';
import { registerFigures } from './figures.ts';
import { createDocsCache } from './openapi.ts';
import { registerProxy } from './proxy.ts';
import { registerRateLimits } from './rate-limit.ts';
import { registerWeb } from './web.ts';

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]).finally(() => clearTimeout(timer));
}

async function answersHealthz(base: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/** Some instance of the service answers /healthz. */
async function anyAnswers(bases: readonly string[], timeoutMs: number): Promise<boolean> {
  const answers = await Promise.all(bases.map((base) => answersHealthz(base, timeoutMs)));
  return answers.includes(true);
}

/**
 * Nothing makes the gateway unready: a service that is down is answered 503 fast on its routes only,
 * and Redis down moves the rate limits into memory. Taking the gateway out of rotation for either
 * would take every replica out at once and fail the routes that still work. Each is reported.
 */
function readiness(config: GatewayConfig, infra: Infra) {
  return async (): Promise<Record<string, DependencyCheck>> => {
    const upstreams = Object.entries(config.upstreamInstances) as [UpstreamName, readonly string[]][];
    const [redis, ...services] = await Promise.all([
      infra.cache.redis ? withTimeout(infra.cache.ping(), config.readinessTimeoutMs, false) : Promise.resolve(undefined),
      ...upstreams.map(([, bases]) => anyAnswers(bases, config.readinessTimeoutMs)),
    ]);
    const checks: Record<string, DependencyCheck> = Object.fromEntries(
      upstreams.map(([name], i) => [name, { up: services[i] ?? false, required: false, ...(services[i] ? {} : { detail: 'its routes answer 503 dependency_unavailable' }) }]),
    );
    if (redis !== undefined) checks.redis = { up: redis, required: false, ...(redis ? {} : { detail: 'rate limits counted in memory, per replica' }) };
    return checks;
  };
}

export async function createGatewayService(config: GatewayConfig, infra: Infra): Promise<RunningService> {
  const { app, metrics } = await createService({
    name: 'gateway',
    logLevel: config.common.logLevel,
    bodyLimitBytes: config.bodyLimitBytes,
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    readiness: readiness(config, infra),
  });

  const limiters = await registerRateLimits(app, config.rateLimit, infra.cache.redis);
  const verifier = createEdgeVerifier({ jwksUrl: config.jwksUrl, issuer: config.common.tokenIssuer, audience: config.common.tokenAudience });
  // One breaker per upstream instance, each a circuit_breaker_state series.
  for (const { breaker } of await registerProxy(app, { config, verifier, limiters })) observeBreaker(metrics, breaker);
  await registerFigures(app, { verifier, balanceUrl: config.upstreams.balance, timeoutMs: config.readinessTimeoutMs, limit: limiters.caller });

  const docs = config.docs.enabled
    ? createDocsCache({
        sources: (Object.entries(config.upstreams) as [UpstreamName, string][]).map(([service, base]) => ({ service, url: `${base}/openapi.json` })),
        ttlMs: config.docs.cacheTtlMs,
        fetchTimeoutMs: config.docs.fetchTimeoutMs,
        log: app.log,
      })
    : undefined;
  await registerDocs(app, docs, limiters.anonymous);
  await registerWeb(app, { limit: limiters.anonymous });

  return {
    name: 'gateway',
    app,
    start: async () => undefined,
    stop: async () => {
      await app.close();
    },
  };
}
