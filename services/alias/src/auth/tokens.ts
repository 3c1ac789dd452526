// Access tokens (RFC 9068 JWTs signed with ES256) and opaque refresh tokens.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { ACCESS_TOKEN_TYPE, SIGNING_ALGORITHM } from '@wallet/kit';
import type { KeyRing } from './keys.ts';

export interface AccessTokenRequest {
  subject: string;
  scope: string;
  /** Set for client-credentials tokens; equal to the subject. */
  clientId?: string;
  /**
   * People's tokens: the session (refresh-token family) they belong to, as the `sid` claim. Ending the
   * session makes them inactive at introspection and on this service's routes.
   */
  sessionId?: string;
}

export interface TokenIssuer {
  accessToken(request: AccessTokenRequest): Promise<{ token: string; expiresInSeconds: number }>;
}

export function createTokenIssuer(options: { keys: KeyRing; issuer: string; audience: string; accessTokenTtlSeconds: number }): TokenIssuer {
  return {
    async accessToken({ subject, scope, clientId, sessionId }) {
      const { kid, key } = await options.keys.signer();
      const issuedAt = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ scope, ...(clientId ? { client_id: clientId } : {}), ...(sessionId ? { sid: sessionId } : {}) })
        .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: ACCESS_TOKEN_TYPE })
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setSubject(subject)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + options.accessTokenTtlSeconds)
        .setJti(randomUUID())
        .sign(key);
      return { token, expiresInSeconds: options.accessTokenTtlSeconds };
    },
  };
}

/** 256 random bits, base64url: the client keeps the token, the database keeps its hash. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
