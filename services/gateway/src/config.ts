// The gateway's configuration: read once at boot, frozen. The only file of this service that reads env.
import { bool, commonConfig, ConfigError, int, optional, type CommonConfig, type Env } from '@wallet/kit';

export type UpstreamName = 'alias' | 'account' | 'transaction' | 'balance';

export interface RateLimitConfig {
  /** Requests per window for one authenticated caller (token subject). */
  callerMax: number;
  /** Requests per window for one IP address without a valid token. */
  anonymousMax: number;
  /** Requests per window for one IP address on sign-up and the token endpoint (brute force). */
  credentialsMax: number;
  windowMs: number;
  /** How long a Redis call may take before the local in-memory limit is used instead. */
  storeTimeoutMs: number;
}

export interface GatewayConfig {
  common: CommonConfig;
  /** Each service's first (often only) instance: readiness, API docs and the default JWKS address. */
  upstreams: Readonly<Record<UpstreamName, string>>;
  /** Every instance of each service; the proxy balances requests across them (balancer.ts). */
  upstreamInstances: Readonly<Record<UpstreamName, readonly string[]>>;
  /** Where the access-token signing keys are published; the alias service by default. */
  jwksUrl: string;
  bodyLimitBytes: number;
  /** For POST /v1/transfers/batch (up to 1,000 transfers). */
  batchBodyLimitBytes: number;
  /** Addresses (or CIDR ranges) of proxies in front of the gateway whose X-Forwarded-For is believed. */
  trustedProxies: readonly string[];
  /** Time an upstream has to send its response headers. */
  upstreamTimeoutMs: number;
  /** Longest silence allowed between two chunks of an upstream response body (streams send heartbeats). */
  upstreamBodyIdleTimeoutMs: number;
  upstreamConnectTimeoutMs: number;
  /** Keep-alive connections per upstream. */
  upstreamConnectionsMax: number;
  /** How long an instance whose circuit breaker opened is skipped before one request tries it again. */
  upstreamBreakerResetMs: number;
  readinessTimeoutMs: number;
  rateLimit: RateLimitConfig;
  docs: { enabled: boolean; cacheTtlMs: number; fetchTimeoutMs: number };
}

function list(env: Env, name: string): string[] {
  return (optional(env, name) ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** An http(s) URL without a trailing slash, so paths can be appended to it. */
function url(env: Env, name: string, fallback: string): string {
  return parseUrl(name, optional(env, name) ?? fallback);
}

/** A comma-separated list of instance URLs (one is the usual case; in Kubernetes, one Service name). */
function urls(env: Env, name: string, fallback: string): string[] {
  const values = (optional(env, name) ?? fallback)
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  if (values.length === 0) throw new ConfigError(`${name} must list at least one URL`);
  const parsed = values.map((value) => parseUrl(name, value));
  if (new Set(parsed).size !== parsed.length) throw new ConfigError(`${name} lists the same URL twice`);
  return parsed;
}

function parseUrl(name: string, value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be a URL, got "${value}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`${name} must be an http(s) URL`);
  if (parsed.search || parsed.hash) throw new ConfigError(`${name} must not have a query or fragment`);
  return parsed.toString().replace(/\/+$/, '');
}

export function loadConfig(env: Env): Readonly<GatewayConfig> {
  const common = commonConfig(env);
  const upstreamInstances = Object.freeze({
    alias: Object.freeze(urls(env, 'ALIAS_URL', common.urls.alias)),
    account: Object.freeze(urls(env, 'ACCOUNT_URL', common.urls.account)),
    transaction: Object.freeze(urls(env, 'TRANSACTION_URL', common.urls.transaction)),
    balance: Object.freeze(urls(env, 'BALANCE_URL', common.urls.balance)),
  });
  const upstreams = Object.freeze({
    alias: upstreamInstances.alias[0]!,
    account: upstreamInstances.account[0]!,
    transaction: upstreamInstances.transaction[0]!,
    balance: upstreamInstances.balance[0]!,
  });
  const windowMs = int(env, 'RATE_LIMIT_WINDOW_MS', 60_000, 1000, 24 * 3600_000);
  return Object.freeze({
    common,
    upstreams,
    upstreamInstances,
    jwksUrl: url(env, 'JWKS_URL', `${upstreams.alias}/.well-known/jwks.json`),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    batchBodyLimitBytes: int(env, 'BATCH_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 10 * 1024 * 1024),
    trustedProxies: Object.freeze(list(env, 'TRUSTED_PROXIES')),
    upstreamTimeoutMs: int(env, 'UPSTREAM_TIMEOUT_MS', 10_000, 100, 120_000),
    upstreamBodyIdleTimeoutMs: int(env, 'UPSTREAM_BODY_IDLE_TIMEOUT_MS', 60_000, 100, 3600_000),
    upstreamConnectTimeoutMs: int(env, 'UPSTREAM_CONNECT_TIMEOUT_MS', 2000, 100, 60_000),
    upstreamConnectionsMax: int(env, 'UPSTREAM_CONNECTIONS_MAX', 128, 1, 10_000),
    upstreamBreakerResetMs: int(env, 'UPSTREAM_BREAKER_RESET_MS', 2000, 100, 600_000),
    readinessTimeoutMs: int(env, 'READINESS_TIMEOUT_MS', 1000, 100, 30_000),
    rateLimit: Object.freeze({
      callerMax: int(env, 'RATE_LIMIT_CALLER_MAX', 600, 1),
      anonymousMax: int(env, 'RATE_LIMIT_ANONYMOUS_MAX', 120, 1),
      credentialsMax: int(env, 'RATE_LIMIT_CREDENTIALS_MAX', 10, 1),
      windowMs,
      storeTimeoutMs: int(env, 'RATE_LIMIT_STORE_TIMEOUT_MS', 250, 10, 10_000),
    }),
    docs: Object.freeze({
      enabled: bool(env, 'DOCS_ENABLED', true),
      cacheTtlMs: int(env, 'DOCS_CACHE_TTL_MS', 60_000, 0, 3600_000),
      fetchTimeoutMs: int(env, 'DOCS_FETCH_TIMEOUT_MS', 2000, 100, 30_000),
    }),
  });
}
