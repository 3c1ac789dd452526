// The gateway: the one public entry. Routes each public path to its service, checks access tokens at
// the edge, rate-limits, sets request ids, limits body sizes and serves the merged API docs.
// It also serves the browser app (web.ts). It keeps no data of its own; only the rate-limit counters live in Redis (or memory when embedded).
import { createService, type Infra, type RunningService } from '@wallet/kit';
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

/** Ready when Redis (in real mode) answers and every service answers /healthz. */
function readiness(config: GatewayConfig, infra: Infra) {
  return async (): Promise<Record<string, boolean>> => {
    const upstreams = Object.entries(config.upstreams) as [UpstreamName, string][];
    const [redis, ...services] = await Promise.all([
      infra.cache.redis ? withTimeout(infra.cache.ping(), config.readinessTimeoutMs, false) : Promise.resolve(undefined),
      ...upstreams.map(([, base]) => answersHealthz(base, config.readinessTimeoutMs)),
    ]);
    const checks: Record<string, boolean> = Object.fromEntries(upstreams.map(([name], i) => [name, services[i] ?? false]));
    if (redis !== undefined) checks.redis = redis;
    return checks;
  };
}

export async function createGatewayService(config: GatewayConfig, infra: Infra): Promise<RunningService> {
  const { app } = await createService({
    name: 'gateway',
    logLevel: config.common.logLevel,
    bodyLimitBytes: config.bodyLimitBytes,
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    readiness: readiness(config, infra),
  });

  const limiters = await registerRateLimits(app, config.rateLimit, infra.cache.redis);
  const verifier = createEdgeVerifier({ jwksUrl: config.jwksUrl, issuer: config.common.tokenIssuer, audience: config.common.tokenAudience });
  await registerProxy(app, { config, verifier, limiters });
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
