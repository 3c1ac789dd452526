// Access-token checks shared by every service and the gateway: ES256 JWTs from the alias service's JWKS.
//
// A token is accepted only when all of these hold (anything else is 401 `unauthorized`, the same body
// for every reason, with `WWW-Authenticate: Bearer error="invalid_token"`):
// - header: `alg` ES256 (never `none`, HS*, RS*, ES384…), `typ` at+jwt (RFC 9068), a `kid` of a key
//   the alias service publishes, no unknown `crit`; the signature verifies with that key;
// - claims: `iss` and `aud` as configured; `exp`, `iat` numbers; `exp` not past and `nbf`, `iat` not in
//   the future, each beyond CLOCK_TOLERANCE_SECONDS; `sub` a non-empty string without spaces;
//   `scope` a non-empty list of scope tokens; `client_id`, if present, a string like `sub`.
import CircuitBreaker from 'opossum';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  jwtVerify,
  errors as joseErrors,
  type FetchImplementation,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { ProblemError } from './errors.ts';
import { breakerOptions } from './http-client.ts';

export const scopes = {
  user: 'wallet:user',
  operator: 'wallet:operator',
  internal: 'wallet:internal',
} as const;

export const ACCESS_TOKEN_TYPE = 'at+jwt';
export const SIGNING_ALGORITHM = 'ES256';

/** Clock difference tolerated between the issuer and a verifier on `exp`, `nbf` and `iat`. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** Least time between two fetches of the key set (a token naming an unknown `kid` asks for one). */
export const KEYS_REFETCH_COOLDOWN_MS = 30_000;

/** RFC 6750 §3: the challenge for a request without a bearer token, and for a token that is not valid. */
export const BEARER_CHALLENGE = 'Bearer';
export const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';
const INVALID_TOKEN_DETAIL = 'The access token is not valid';

/** A 401 `unauthorized` with the WWW-Authenticate challenge to send along. */
export class UnauthorizedError extends ProblemError {
  readonly challenge: string;

  constructor(detail: string, challenge: string) {
    super('unauthorized', detail);
    this.challenge = challenge;
  }
}

/** The one refusal for every reason a token is not valid: it tells a caller nothing more. */
export const invalidToken = () => new UnauthorizedError(INVALID_TOKEN_DETAIL, INVALID_TOKEN_CHALLENGE);
const tokenMissing = () => new UnauthorizedError('Send an access token as "Authorization: Bearer <token>"', BEARER_CHALLENGE);

export interface Caller {
  /** User id for people, client id for operator and service clients. */
  subject: string;
  kind: 'user' | 'client';
  scopes: ReadonlySet<string>;
  /** The bearer token itself, so a service can pass the caller on. */
  token: string;
}

export interface TokenVerifier {
  verify(token: string): Promise<Caller>;
}

export interface VerifierOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Least time between two fetches of the key set; KEYS_REFETCH_COOLDOWN_MS unless set (tests). */
  keysRefetchCooldownMs?: number;
  /** How long a fetched key set is used before it is fetched again; 10 min unless set (tests). */
  keysMaxAgeMs?: number;
}

/**
 * The alias service's public keys, fetched once and cached by jose (10 min); a token naming an unknown
 * `kid` refetches them, at most once per cooldown, so a flood of such tokens costs one fetch.
 * Fetches go through a circuit breaker (3 s timeout each), and the last key set fetched stays in use
 * while the alias service is unreachable, past its 10 minutes: keys are not withdrawn by an outage.
 * A key that cannot be found because the key set cannot be fetched is the alias service being down
 * (503), not a bad token (401).
 */
export function remoteKeySet(jwksUrl: string, cooldownMs: number = KEYS_REFETCH_COOLDOWN_MS, maxAgeMs = 10 * 60_000): JWTVerifyGetKey {
  let lastGood: JWTVerifyGetKey | undefined;
  const breaker = new CircuitBreaker(
    async (url: string, init: Parameters<FetchImplementation>[1]) => {
      const response = await fetch(url, init);
      if (response.status >= 500) throw new Error(`the key set answered ${response.status}`);
      if (response.status === 200) {
        response
          .clone()
          .json()
          .then((jwks: unknown) => {
            lastGood = createLocalJWKSet(jwks as JSONWebKeySet);
          })
          .catch(() => undefined); // jose refuses it too
      }
      return response;
    },
    { name: 'jwks', ...breakerOptions },
  );
  const keySet = createRemoteJWKSet(new URL(jwksUrl), {
    cacheMaxAge: maxAgeMs,
    cooldownDuration: cooldownMs,
    timeoutDuration: 3000,
    [customFetch]: (url, init) => breaker.fire(url, init) as Promise<Response>,
  });
  return async (header, token) => {
    try {
      return await keySet(header, token);
    } catch (error) {
      const unreachable =
        !(error instanceof joseErrors.JOSEError) || // fetch failed: refused, reset, DNS, breaker open
        error instanceof joseErrors.JWKSTimeout ||
        error instanceof joseErrors.JWKSInvalid ||
        error.code === 'ERR_JOSE_GENERIC'; // the key set answered with a status other than 200, or not JSON
      if (!unreachable) throw error;
      // Known keys still verify; only an unknown one needs the alias service.
      const stale = lastGood;
      const known = stale ? await Promise.resolve().then(() => stale(header, token)).catch(() => undefined) : undefined;
      if (known) return known;
      const problem = new ProblemError('dependency_unavailable', 'The token signing keys could not be fetched');
      problem.retryAfterSeconds = breaker.opened ? Math.ceil(breakerOptions.resetTimeout / 1000) : 1;
      throw problem;
    }
  };
}

// sub and client_id: printable, no spaces (UUIDs for people, client ids for clients).
const subjectPattern = /^[\x21-\x7e]{1,255}$/;
// RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token = 1*NQCHAR.
const scopePattern = /^[\x21\x23-\x5b\x5d-\x7e]+(?: [\x21\x23-\x5b\x5d-\x7e]+)*$/;

/** The caller a verified token names, or undefined when its claims are not as the alias service issues them. */
function callerFromClaims(payload: JWTPayload, token: string, nowSeconds: number): { caller: Caller; expiresAt: number } | undefined {
  const { sub, scope, client_id: clientId, iat, exp } = payload;
  if (typeof sub !== 'string' || !subjectPattern.test(sub)) return undefined;
  if (typeof scope !== 'string' || scope.length > 1000 || !scopePattern.test(scope)) return undefined;
  if (clientId !== undefined && (typeof clientId !== 'string' || !subjectPattern.test(clientId))) return undefined;
  // jose checks exp and nbf against the clock; an iat in the future is refused here.
  if (typeof iat !== 'number' || typeof exp !== 'number' || iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) return undefined;
  return {
    caller: { subject: sub, kind: clientId === sub ? 'client' : 'user', scopes: new Set(scope.split(' ')), token },
    expiresAt: exp * 1000,
  };
}

export function createTokenVerifier(options: VerifierOptions, keys?: JWTVerifyGetKey): TokenVerifier {
  const { jwksUrl, issuer, audience } = options;
  const keySet = keys ?? remoteKeySet(jwksUrl, options.keysRefetchCooldownMs, options.keysMaxAgeMs);
  // A token verified once is remembered until it expires: clients reuse a token for many requests,
  // and its signature cannot change. Bounded, oldest dropped first.
  const verified = new Map<string, { caller: Caller; expiresAt: number }>();
  const verifiedMax = 10_000;

  const verifySignature = async (token: string): Promise<{ caller: Caller; expiresAt: number }> => {
    let payload: JWTPayload;
    try {
      // The algorithm is checked before any key is looked up: an HS256, RS256 or `none` token never
      // reaches the key set, whatever `kid` it names.
      ({ payload } = await jwtVerify(token, keySet, {
        issuer,
        audience,
        algorithms: [SIGNING_ALGORITHM],
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: ['sub', 'exp', 'iat', 'scope'],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw invalidToken();
      throw error;
    }
    const checked = callerFromClaims(payload, token, Math.floor(Date.now() / 1000));
    if (!checked) throw invalidToken();
    return checked;
  };

  return {
    async verify(token) {
      const known = verified.get(token);
      if (known && known.expiresAt > Date.now()) return known.caller;
      const fresh = await verifySignature(token);
      if (verified.size >= verifiedMax) verified.delete(verified.keys().next().value!);
      verified.set(token, fresh);
      return fresh.caller;
    },
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

// RFC 6750 §2.1: "Bearer" (any case) 1*SP b64token.
const bearerPattern = /^Bearer +([A-Za-z0-9\-_.~+/]+=*)$/i;

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  return bearerPattern.exec(header)?.[1];
}

/**
 * The caller of a request, or the 401 to answer: without a bearer token a plain `Bearer` challenge;
 * with one that is malformed or not valid, `invalid_token`.
 */
export async function verifyRequest(verifier: TokenVerifier, request: FastifyRequest): Promise<Caller> {
  const token = bearerToken(request);
  if (token) return verifier.verify(token);
  if (/^Bearer(?: |$)/i.test(request.headers.authorization ?? '')) throw invalidToken();
  throw tokenMissing();
}

/** Sets the WWW-Authenticate header a 401 goes with; other errors pass unchanged. */
export function addChallenge(reply: FastifyReply, error: unknown): void {
  if (error instanceof UnauthorizedError) reply.header('www-authenticate', error.challenge);
}

/** onRequest hook for an encapsulated context of routes that need a caller. */
export function authenticate(verifier: TokenVerifier): onRequestHookHandler {
  return async (request, reply) => {
    try {
      request.caller = await verifyRequest(verifier, request);
    } catch (error) {
      addChallenge(reply, error);
      throw error;
    }
  };
}

export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw tokenMissing();
  return request.caller;
}

export function hasScope(caller: Caller, scope: string): boolean {
  return caller.scopes.has(scope);
}

export const isOperator = (caller: Caller) => hasScope(caller, scopes.operator);

/** onRequest hook: 403 `forbidden` unless the caller's token has at least one of these scopes. */
export function requireAnyScope(...needed: [string, ...string[]]): onRequestHookHandler {
  return async (request) => {
    const caller = callerOf(request);
    if (!needed.some((scope) => hasScope(caller, scope))) throw new ProblemError('forbidden', `This action needs the ${needed.join(' or ')} scope`);
  };
}

export function requireScope(scope: string): onRequestHookHandler {
  return requireAnyScope(scope);
}
