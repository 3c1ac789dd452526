// The token check at the edge: a request for a protected route reaches its service only with a valid
// access token. The services verify the token again themselves, with the same kit verifier (same
// rules, same clock tolerance); this stops bad tokens early and gives the rate limiter a caller to count.
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import { addChallenge, createTokenVerifier, invalidToken, ProblemError, verifyRequest, type TokenVerifier } from '@wallet/kit';

export interface EdgeAuthOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
}

/**
 * The alias service's keys come from its JWKS, cached, refetched at most every 30 s for an unknown
 * `kid`; a key set that cannot be fetched is a 503, not a 401 (see `remoteKeySet` in the kit).
 */
export function createEdgeVerifier(options: EdgeAuthOptions): TokenVerifier {
  return createTokenVerifier(options);
}

const authFailures = new WeakMap<FastifyRequest, ProblemError>();

/**
 * Sets `request.caller` when the request carries a valid token and otherwise remembers why not, so
 * the rate limiter that runs next can count the caller (or, without one, the IP address) before
 * `requireCaller` answers 401.
 */
export function identifyCaller(verifier: TokenVerifier): onRequestHookHandler {
  return async (request) => {
    try {
      request.caller = await verifyRequest(verifier, request);
    } catch (error) {
      if (!(error instanceof ProblemError) || error.code !== 'unauthorized') throw error;
      authFailures.set(request, error);
    }
  };
}

/** 401 with the WWW-Authenticate challenge, as the services answer it, for a request without a valid token. */
export const requireCaller: onRequestHookHandler = async (request, reply) => {
  if (request.caller) return;
  const failure = authFailures.get(request) ?? invalidToken();
  addChallenge(reply, failure);
  throw failure;
};
