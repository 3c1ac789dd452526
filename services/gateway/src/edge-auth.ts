// The token check at the edge: a request for a protected route reaches its service only with a valid
// access token. The services verify the token again themselves; this stops bad tokens early and
// gives the rate limiter a caller to count.
import { createRemoteJWKSet, errors as joseErrors, type JWTVerifyGetKey } from 'jose';
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import { bearerToken, createTokenVerifier, ProblemError, type TokenVerifier } from '@wallet/kit';

export interface EdgeAuthOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
}

/**
 * The alias service's keys, cached by jose (refetched at most every 30 s for an unknown `kid`).
 * A key set that cannot be fetched is the alias service being down (503), not a bad token (401).
 */
function remoteKeys(jwksUrl: string): JWTVerifyGetKey {
  const keySet = createRemoteJWKSet(new URL(jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 3000 });
  return async (header, token) => {
    try {
      return await keySet(header, token);
    } catch (error) {
      const unreachable =
        !(error instanceof joseErrors.JOSEError) || // fetch failed: refused, reset, DNS
        error instanceof joseErrors.JWKSTimeout ||
        error instanceof joseErrors.JWKSInvalid ||
        error.code === 'ERR_JOSE_GENERIC'; // the key set answered with a status other than 200
      if (unreachable) throw new ProblemError('dependency_unavailable', 'The token signing keys could not be fetched');
      throw error;
    }
  };
}

export function createEdgeVerifier(options: EdgeAuthOptions): TokenVerifier {
  return createTokenVerifier(options, remoteKeys(options.jwksUrl));
}

const authFailures = new WeakMap<FastifyRequest, ProblemError>();

/**
 * Sets `request.caller` when the request carries a valid token and otherwise remembers why not, so
 * the rate limiter that runs next can count the caller (or, without one, the IP address) before
 * `requireCaller` answers 401.
 */
export function identifyCaller(verifier: TokenVerifier): onRequestHookHandler {
  return async (request) => {
    const token = bearerToken(request);
    if (!token) {
      authFailures.set(request, new ProblemError('unauthorized', 'Send an access token as "Authorization: Bearer <token>"'));
      return;
    }
    try {
      request.caller = await verifier.verify(token);
    } catch (error) {
      if (!(error instanceof ProblemError) || error.code !== 'unauthorized') throw error;
      authFailures.set(request, error);
    }
  };
}

export const requireCaller: onRequestHookHandler = async (request) => {
  if (!request.caller) throw authFailures.get(request) ?? new ProblemError('unauthorized');
};
