// Sessions and revocation. A session is a refresh-token family (one login); people's access tokens
// name theirs in the `sid` claim. Revoking a refresh token ends its session (RFC 7009); revoking an
// access token puts its `jti` on a list until it expires. Introspection (RFC 7662) and this
// service's own routes consult both; the other services verify tokens locally against the JWKS and
// accept a revoked access token until it expires (at most ACCESS_TOKEN_TTL_SECONDS, 15 minutes).
import { errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ACCESS_TOKEN_TYPE, ProblemError, SIGNING_ALGORITHM, type Caller, type Db } from '@wallet/kit';
import type { onRequestHookHandler } from 'fastify';
import { findRefreshToken, listLiveFamilies, revokeFamiliesOfUser, revokeFamily, type SessionRow } from '../store/refresh-tokens.ts';
import { revokeAccessToken, tokenStanding } from '../store/sessions.ts';
import { hashRefreshToken } from './tokens.ts';

export type TokenTypeHint = 'access_token' | 'refresh_token';

/** RFC 7662 §2.2; `token_type` is `Bearer` for access tokens and `refresh_token` for refresh tokens. */
export interface Introspection {
  active: boolean;
  sub?: string;
  scope?: string;
  client_id?: string;
  token_type?: 'Bearer' | 'refresh_token';
  exp?: number;
  iat?: number;
  iss?: string;
  aud?: string;
  jti?: string;
  sid?: string;
}

export interface Sessions {
  /** RFC 7009: ends what the token grants; unknown, expired or foreign tokens are silently ignored. */
  revoke(token: string, hint?: string): Promise<void>;
  introspect(token: string, hint?: string): Promise<Introspection>;
  /** Logout everywhere: ends every session of the user; returns how many were live. */
  revokeAll(userId: string, reason: string): Promise<number>;
  list(userId: string): Promise<SessionRow[]>;
  /** onRequest hook after `authenticate`: a revoked access token, or one of an ended session, is 401 here. */
  guard: onRequestHookHandler;
}

interface AccessClaims extends JWTPayload {
  scope?: unknown;
  client_id?: unknown;
  sid?: unknown;
}

const looksLikeJwt = (token: string) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token);
const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

export function createSessions(deps: { db: Db; getKey: JWTVerifyGetKey; issuer: string; audience: string }): Sessions {
  const { db } = deps;

  /** The claims of an access token this service signed and that has not expired; undefined otherwise. */
  const verifiedClaims = async (token: string): Promise<AccessClaims | undefined> => {
    if (!looksLikeJwt(token)) return undefined;
    try {
      const { payload } = await jwtVerify<AccessClaims>(token, deps.getKey, {
        issuer: deps.issuer,
        audience: deps.audience,
        algorithms: [SIGNING_ALGORITHM],
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      });
      return payload;
    } catch (error) {
      if (error instanceof joseErrors.JOSEError) return undefined;
      throw error;
    }
  };

  const accessFirst = (hint: string | undefined, token: string) => (hint === 'refresh_token' ? false : hint === 'access_token' || looksLikeJwt(token));

  const introspectAccess = async (token: string): Promise<Introspection | undefined> => {
    const claims = await verifiedClaims(token);
    if (!claims) return undefined;
    const sid = text(claims.sid);
    const standing = await tokenStanding(db, claims.jti, sid);
    if (standing.revoked || standing.sessionEnded) return { active: false };
    const clientId = text(claims.client_id);
    return {
      active: true,
      sub: claims.sub!,
      scope: text(claims.scope) ?? '',
      ...(clientId ? { client_id: clientId } : {}),
      token_type: 'Bearer',
      exp: claims.exp!,
      iat: claims.iat!,
      iss: deps.issuer,
      aud: deps.audience,
      jti: claims.jti!,
      ...(sid ? { sid } : {}),
    };
  };

  const introspectRefresh = async (token: string): Promise<Introspection | undefined> => {
    const record = await findRefreshToken(db, hashRefreshToken(token));
    if (!record) return undefined;
    const live = !record.spentAt && !record.familyRevokedAt && record.familyExpiresAt.getTime() > Date.now();
    if (!live) return { active: false };
    return {
      active: true,
      sub: record.userId,
      scope: record.scope,
      token_type: 'refresh_token',
      exp: Math.floor(record.familyExpiresAt.getTime() / 1000),
      iat: Math.floor(record.createdAt.getTime() / 1000),
      iss: deps.issuer,
      sid: record.familyId,
    };
  };

  const revokeAccess = async (token: string): Promise<boolean> => {
    const claims = await verifiedClaims(token);
    if (!claims) return false;
    await revokeAccessToken(db, claims.jti!, new Date(claims.exp! * 1000));
    return true;
  };

  const revokeRefresh = async (token: string): Promise<boolean> => {
    const record = await findRefreshToken(db, hashRefreshToken(token));
    if (!record) return false;
    await revokeFamily(db, record.familyId, 'revoked by the client');
    return true;
  };

  return {
    async revoke(token, hint) {
      // RFC 7009 §2.1: the hint says where to look first; the other type is searched too.
      const order = accessFirst(hint, token) ? [revokeAccess, revokeRefresh] : [revokeRefresh, revokeAccess];
      for (const attempt of order) if (await attempt(token)) return;
    },

    async introspect(token, hint) {
      const order = accessFirst(hint, token) ? [introspectAccess, introspectRefresh] : [introspectRefresh, introspectAccess];
      for (const attempt of order) {
        const found = await attempt(token);
        if (found) return found;
      }
      return { active: false };
    },

    revokeAll: (userId, reason) => revokeFamiliesOfUser(db, userId, reason),
    list: (userId) => listLiveFamilies(db, userId),

    guard: async (request, reply) => {
      const caller: Caller | undefined = request.caller;
      if (!caller) return;
      const claims = decodeClaims(caller.token);
      const standing = await tokenStanding(db, text(claims.jti), text(claims.sid));
      if (standing.revoked || standing.sessionEnded) {
        reply.header('www-authenticate', 'Bearer error="invalid_token"');
        throw new ProblemError('unauthorized', 'The access token is not valid');
      }
    },
  };
}

/** The claims of a token already verified by `authenticate`. */
export function decodeClaims(token: string): AccessClaims {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as AccessClaims;
  } catch {
    return {};
  }
}

/** The session an access token belongs to, if it is a person's. */
export const sessionOf = (caller: Caller) => text(decodeClaims(caller.token).sid);
