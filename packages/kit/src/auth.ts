// Access-token checks shared by every service and the gateway: ES256 JWTs from the alias service's JWKS.
import { createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import { ProblemError } from './errors.ts';

export const scopes = {
  user: 'wallet:user',
  operator: 'wallet:operator',
  internal: 'wallet:internal',
} as const;

export const ACCESS_TOKEN_TYPE = 'at+jwt';
export const SIGNING_ALGORITHM = 'ES256';

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
}

export function createTokenVerifier({ jwksUrl, issuer, audience }: VerifierOptions, keys?: JWTVerifyGetKey): TokenVerifier {
  // jose caches the key set and refetches it (at most every 30 s) when a token names an unknown kid.
  const keySet = keys ?? createRemoteJWKSet(new URL(jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 3000 });
  // A token verified once is remembered until it expires: clients reuse a token for many requests,
  // and its signature cannot change. Bounded, oldest dropped first.
  const verified = new Map<string, { caller: Caller; expiresAt: number }>();
  const verifiedMax = 10_000;

  const verifySignature = async (token: string): Promise<{ caller: Caller; expiresAt: number }> => {
    try {
      const { payload } = await jwtVerify(token, keySet, {
        issuer,
        audience,
        algorithms: [SIGNING_ALGORITHM],
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: ['sub', 'exp', 'iat', 'scope'],
      });
      const scope = typeof payload.scope === 'string' ? payload.scope : '';
      const caller: Caller = {
        subject: payload.sub!,
        kind: payload.client_id && payload.client_id === payload.sub ? 'client' : 'user',
        scopes: new Set(scope.split(' ').filter(Boolean)),
        token,
      };
      return { caller, expiresAt: payload.exp! * 1000 };
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) throw new ProblemError('unauthorized', 'The access token is not valid');
      throw error;
    }
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

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/.exec(header);
  return match?.[1];
}

/** onRequest hook for an encapsulated context of routes that need a caller. */
export function authenticate(verifier: TokenVerifier): onRequestHookHandler {
  return async (request) => {
    const token = bearerToken(request);
    if (!token) throw new ProblemError('unauthorized', 'Send an access token as "Authorization: Bearer <token>"');
    request.caller = await verifier.verify(token);
  };
}

export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new ProblemError('unauthorized');
  return request.caller;
}

export function hasScope(caller: Caller, scope: string): boolean {
  return caller.scopes.has(scope);
}

export const isOperator = (caller: Caller) => hasScope(caller, scopes.operator);

export function requireScope(scope: string): onRequestHookHandler {
  return async (request) => {
    if (!hasScope(callerOf(request), scope)) throw new ProblemError('forbidden', `This action needs the ${scope} scope`);
  };
}
