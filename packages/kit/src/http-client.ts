// Calls between services: a timeout on every call, a circuit breaker per target, bounded retries
// with jitter for GETs only, and the calling service's own client-credentials token.
import CircuitBreaker from 'opossum';
import { ProblemError } from './errors.ts';
import { injectTraceHeaders, SpanKind, withSpan } from './telemetry.ts';

export interface ServiceResponse<T = unknown> {
  status: number;
  body: T;
}

export interface ServiceClient {
  get<T>(path: string, requestId?: string): Promise<ServiceResponse<T>>;
  post<T>(path: string, body: unknown, requestId?: string): Promise<ServiceResponse<T>>;
  /** PUT is idempotent, so it is retried like GET. */
  put<T>(path: string, body: unknown, requestId?: string): Promise<ServiceResponse<T>>;
  readonly breaker: CircuitBreaker;
}

export interface TokenSource {
  token(): Promise<string>;
}

export interface ClientOptions {
  name: string;
  baseUrl: string;
  tokens?: TokenSource;
  timeoutMs?: number;
  getAttemptsMax?: number;
}

class ServerError extends Error {}

export function createServiceClient({ name, baseUrl, tokens, timeoutMs = 2000, getAttemptsMax = 3 }: ClientOptions): ServiceClient {
  const call = (method: string, path: string, body: unknown, requestId?: string): Promise<ServiceResponse> => {
    const url = new URL(path, baseUrl);
    // A CLIENT span per attempt; its traceparent goes with the request.
    const attributes = { 'http.request.method': method, 'server.address': url.hostname, 'url.full': `${url.origin}${url.pathname}`, 'peer.service': name };
    return withSpan(`${method} ${name}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (tokens) headers.authorization = `Bearer ${await tokens.token()}`;
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

  const breaker = new CircuitBreaker(call, {
    name,
    timeout: false, // the fetch has its own timeout
    errorThresholdPercentage: 50,
    volumeThreshold: 5,
    resetTimeout: 5000,
  });

  const fire = async (method: string, path: string, body: unknown, requestId?: string, attempts = 1) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await breaker.fire(method, path, body, requestId)) as ServiceResponse;
      } catch (error) {
        if (breaker.opened || attempt >= attempts) {
          throw new ProblemError('dependency_unavailable', `The ${name} service is unavailable`, { cause: String((error as Error).message) });
        }
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 50));
      }
    }
  };

  return {
    breaker,
    get: (path, requestId) => fire('GET', path, undefined, requestId, getAttemptsMax) as never,
    post: (path, body, requestId) => fire('POST', path, body, requestId, 1) as never,
    put: (path, body, requestId) => fire('PUT', path, body, requestId, getAttemptsMax) as never,
  };
}

/** OAuth2 client credentials, cached until shortly before the token expires. */
export function clientCredentials(tokenUrl: string, clientId: string, clientSecret: string, scope?: string): TokenSource {
  let cached: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const fetchToken = async () => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
    if (scope) form.set('scope', scope);
    const response = await fetch(tokenUrl, { method: 'POST', body: form, signal: AbortSignal.timeout(3000) });
    if (!response.ok) throw new ProblemError('dependency_unavailable', `Could not get a service token (${response.status})`);
    const body = (await response.json()) as { access_token: string; expires_in: number };
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
