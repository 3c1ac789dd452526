// Calls between services: a timeout on every call, a circuit breaker per target instance, bounded
// retries with jitter for idempotent calls only, and the calling service's own client-credentials token.
import CircuitBreaker from 'opossum';
import type { Registry } from 'prom-client';
import { ProblemError } from './errors.ts';
import { observeBreaker } from './metrics.ts';
import { injectTraceHeaders, SpanKind, withSpan } from './telemetry.ts';

export interface ServiceResponse<T = unknown> {
  status: number;
  body: T;
}

export interface ServiceClient {
  get<T>(path: string, requestId?: string): Promise<ServiceResponse<T>>;
  post<T>(path: string, body: unknown, requestId?: string): Promise<ServiceResponse<T>>;
  /** A POST that changes nothing (a query too large for a URL): retried like GET. */
  query<T>(path: string, body: unknown, requestId?: string): Promise<ServiceResponse<T>>;
  /** PUT is idempotent, so it is retried like GET. */
  put<T>(path: string, body: unknown, requestId?: string): Promise<ServiceResponse<T>>;
  /** The first instance's breaker (the only one when the client has one base URL). */
  readonly breaker: CircuitBreaker;
  /** One breaker per instance, in the order of the base URLs. */
  readonly breakers: readonly CircuitBreaker[];
}

export interface TokenSource {
  token(): Promise<string>;
}

export interface ClientOptions {
  name: string;
  /** One instance, or several (each with its own breaker; calls go round them, skipping open breakers). */
  baseUrl: string | readonly string[];
  tokens?: TokenSource;
  timeoutMs?: number;
  getAttemptsMax?: number;
  /** The calling service's registry: the breaker's state and refusals are shown there. */
  metrics?: Registry;
}

class ServerError extends Error {}
class TokenRefused extends Error {}
/** Breaker settings for every call between services (see docs/reliability.md, Resilience). */
export const breakerOptions = {
  timeout: false as const, // each call has its own timeout
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  resetTimeout: 5000,
};

/** A circuit breaker with the settings above, for a call that is not a service client's (SMTP, JWKS). */
export function createBreaker<A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>): CircuitBreaker<A, R> {
  return new CircuitBreaker(call, { name, ...breakerOptions });
}

/** Waits before retry number `attempt` (1, 2…): grows with the attempt, with jitter so callers spread out. */
export function retryDelayMs(attempt: number): number {
  return 50 * attempt + Math.random() * 50 * attempt;
}

/** The 503 a caller answers when `name` cannot be reached or its breaker is open. */
function unavailable(name: string, breaker: CircuitBreaker, error: unknown, what = `The ${name} service is unavailable`): ProblemError {
  if (error instanceof ProblemError && error.code === 'dependency_unavailable') return error;
  const problem = new ProblemError('dependency_unavailable', what, { cause: String((error as Error).message) });
  // While the breaker is open nothing is tried before it half-opens.
  problem.retryAfterSeconds = breaker.opened ? Math.ceil(breakerOptions.resetTimeout / 1000) : 1;
  return problem;
}

/**
 * Errors not worth a second attempt: a 503 passed on (already retried where it arose), a refusal, and
 * a timeout — a callee that did not answer in time is hung or overloaded, and another wait of the
 * same length would only double the caller's (and add to its load).
 */
const final = (error: unknown) => error instanceof ProblemError || error instanceof TokenRefused || (error as Error)?.name === 'TimeoutError';

/** Runs `fire` up to `attempts` times, with jittered waits, while the breaker lets calls through. */
async function withRetries<T>(breaker: CircuitBreaker, attempts: number, fire: () => Promise<T>, fail: (error: unknown) => ProblemError): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fire();
    } catch (error) {
      if (breaker.opened || attempt >= attempts || final(error)) throw fail(error);
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt)));
    }
  }
}

/** Nothing was sent: the instance refused the connection, so any request may go to another one. */
function connectionRefused(error: unknown): boolean {
  return (error as { cause?: { code?: string } })?.cause?.code === 'ECONNREFUSED';
}

export function createServiceClient({ name, baseUrl, tokens, timeoutMs = 2000, getAttemptsMax = 3, metrics }: ClientOptions): ServiceClient {
  const bases = typeof baseUrl === 'string' ? [baseUrl] : [...baseUrl];
  if (bases.length === 0) throw new Error(`${name}: no base URL`);
  const call = (base: string, method: string, path: string, body: unknown, token?: string, requestId?: string): Promise<ServiceResponse> => {
    const url = new URL(path, base);
    // A CLIENT span per attempt; its traceparent goes with the request.
    const attributes = { 'http.request.method': method, 'server.address': url.hostname, 'url.full': `${url.origin}${url.pathname}`, 'peer.service': name };
    return withSpan(`${method} ${name}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (token) headers.authorization = `Bearer ${token}`;
      if (requestId) headers['x-request-id'] = requestId;
      const response = await fetch(url, {
        method,
        headers: injectTraceHeaders(headers),
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      span?.setAttribute('http.response.status_code', response.status);
      const text = await response.text();
      const parsed = text ? JSON.parse(text) : undefined;
      // 5xx counts against the breaker; 4xx is an answer.
      if (response.status >= 500) throw new ServerError(`${name} answered ${response.status}`);
      return { status: response.status, body: parsed };
    });
  };

  // With one instance the breaker is named after the service; with several, after service and URL.
  const breakers = bases.map((base) => {
    const breaker = new CircuitBreaker((...args: [string, string, unknown, string?, string?]) => call(base, ...args), {
      name: bases.length === 1 ? name : `${name} ${base}`,
      ...breakerOptions,
    });
    if (metrics) observeBreaker(metrics, breaker);
    return breaker;
  });
  let turn = 0;
  /** The next instance in turn whose breaker is not open, other than `after` if there is another; else the first. */
  const pick = (after?: CircuitBreaker): CircuitBreaker => {
    for (let i = 0; i < breakers.length; i++) {
      const breaker = breakers[(turn + i) % breakers.length]!;
      if (!breaker.opened && breaker !== after) {
        turn = (turn + i + 1) % breakers.length;
        return breaker;
      }
    }
    return after && !after.opened ? after : breakers[0]!;
  };

  // POST is never retried: the internal POSTs carry no idempotency key, and one that timed out may
  // have been applied. GET, PUT and `query` (a POST that only reads) are idempotent. Any request
  // whose connection was refused (nothing sent) goes on to another instance.
  const fire = async (method: string, path: string, body: unknown, requestId: string | undefined, attempts: number): Promise<ServiceResponse> => {
    let breaker: CircuitBreaker | undefined;
    for (let attempt = 1; ; attempt++) {
      breaker = pick(breaker);
      try {
        // The token has its own breaker and retries (the alias service being down is not this one being down).
        return (await breaker.fire(method, path, body, tokens ? await tokens.token() : undefined, requestId)) as ServiceResponse;
      } catch (error) {
        const elsewhere = connectionRefused(error) && attempt < breakers.length && breakers.some((b) => !b.opened && b !== breaker);
        if (final(error) || breakers.every((b) => b.opened) || !(elsewhere || attempt < attempts)) throw unavailable(name, breaker, error);
        if (!elsewhere) await new Promise((resolve) => setTimeout(resolve, retryDelayMs(attempt)));
      }
    }
  };

  return {
    breaker: breakers[0]!,
    breakers,
    get: (path, requestId) => fire('GET', path, undefined, requestId, getAttemptsMax) as never,
    post: (path, body, requestId) => fire('POST', path, body, requestId, 1) as never,
    query: (path, body, requestId) => fire('POST', path, body, requestId, getAttemptsMax) as never,
    put: (path, body, requestId) => fire('PUT', path, body, requestId, getAttemptsMax) as never,
  };
}

/**
 * OAuth2 client credentials, cached until shortly before the token expires. The token request is a
 * POST but safe to repeat (it changes nothing but issues another token), so it is retried like a GET,
 * behind a breaker of its own.
 */
export function clientCredentials(tokenUrl: string, clientId: string, clientSecret: string, scope?: string, timeoutMs = 2000): TokenSource {
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const request = async () => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
    if (scope) form.set('scope', scope);
    const response = await fetch(tokenUrl, { method: 'POST', body: form, signal: AbortSignal.timeout(timeoutMs) });
    if (response.status >= 500) throw new Error(`the token endpoint answered ${response.status}`);
    if (!response.ok) throw new TokenRefused(`the token endpoint refused ${clientId} (${response.status})`);
    return (await response.json()) as { access_token: string; expires_in: number };
  };
  // A refusal (wrong secret) is an answer, not the alias service being down: it does not open the breaker.
  const breaker = new CircuitBreaker(request, { name: `token:${clientId}`, ...breakerOptions, errorFilter: (error: unknown) => error instanceof TokenRefused });
  const fetchToken = async () => {
    const body = await withRetries(breaker, 3, () => breaker.fire(), (error) => unavailable('alias', breaker, error, `Could not get a service token: ${(error as Error).message}`));
    cached = { token: body.access_token, expiresAt: Date.now() + (body.expires_in - 30) * 1000 };
    return body.access_token;
  };
  return {
    async token() {
      if (cached && cached.expiresAt > Date.now()) return cached.token;
      pending ??= fetchToken().finally(() => {
        pending = undefined;
      });
      return pending;
    },
  };
}
