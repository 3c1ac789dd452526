// The three OAuth2 grants of POST /v1/auth/token. Each returns the token response or throws a
// ProblemError whose code is the OAuth2 error (invalid_grant, invalid_client, invalid_scope).
import { randomUUID } from 'node:crypto';
import { ProblemError, scopes, type Db } from '@wallet/kit';
import { parseAliasQuery } from '../domain/alias.ts';
import type { ClientRegistry } from '../domain/clients.ts';
import { grantedScope } from '../domain/clients.ts';
import { decideRefresh } from '../domain/refresh.ts';
import { insertFamily, insertRefreshToken, findRefreshTokenForUpdate, revokeFamily, spendRefreshToken } from '../store/refresh-tokens.ts';
import { findCredentials } from '../store/users.ts';
import type { Passwords } from './passwords.ts';
import { hashRefreshToken, newRefreshToken, type TokenIssuer } from './tokens.ts';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope: string;
}

export interface Grants {
  password(username: string, password: string, scope?: string): Promise<TokenResponse>;
  refreshToken(refreshToken: string, scope?: string): Promise<TokenResponse>;
  clientCredentials(clientId: string, clientSecret: string, scope?: string): Promise<TokenResponse>;
}

interface GrantDeps {
  db: Db;
  passwords: Passwords;
  tokens: TokenIssuer;
  clients: ClientRegistry;
  refreshTokenTtlSeconds: number;
  log: { warn(obj: object, msg: string): void };
}

const invalidGrant = () => new ProblemError('invalid_grant', 'The username or password is wrong, or the refresh token is not valid');
const invalidScope = () => new ProblemError('invalid_scope', 'The requested scope is not granted to this client');

export function createGrants({ db, passwords, tokens, clients, refreshTokenTtlSeconds, log }: GrantDeps): Grants {
  const userTokens = async (userId: string, scope: string, refreshToken: string): Promise<TokenResponse> => {
    const access = await tokens.accessToken({ subject: userId, scope });
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresInSeconds, refresh_token: refreshToken, scope };
  };

  return {
    async password(username, password, requestedScope) {
      // Unknown usernames still pay for one argon2 verification: the answer and its timing are the same.
      const alias = parseAliasQuery(username);
      const credentials = alias ? await findCredentials(db, alias.type, alias.canonical) : undefined;
      const matches = await passwords.verify(credentials?.passwordHash, password);
      if (!credentials || !matches) throw invalidGrant();
      const scope = grantedScope(scopes.user, requestedScope);
      if (!scope) throw invalidScope();
      const refresh = newRefreshToken();
      await db.tx(async (q) => {
        const familyId = randomUUID();
        await insertFamily(q, { id: familyId, userId: credentials.userId, scope, expiresAt: new Date(Date.now() + refreshTokenTtlSeconds * 1000) });
        await insertRefreshToken(q, refresh.hash, familyId);
      });
      return userTokens(credentials.userId, scope, refresh.token);
    },

    async refreshToken(presented, requestedScope) {
      const hash = hashRefreshToken(presented);
      const outcome = await db.tx(async (q) => {
        const record = await findRefreshTokenForUpdate(q, hash);
        if (!record) return { decision: 'unknown' as const };
        const decision = decideRefresh(record, new Date());
        if (decision === 'reuse_detected') await revokeFamily(q, record.familyId, 'a spent refresh token was presented again');
        if (decision !== 'rotate') return { decision, record };
        const scope = grantedScope(record.scope, requestedScope);
        if (!scope) return { decision: 'scope_not_granted' as const, record };
        const next = newRefreshToken();
        await spendRefreshToken(q, hash);
        await insertRefreshToken(q, next.hash, record.familyId);
        // Signed before the commit: if the commit fails, the token never leaves this process.
        return { decision, record, response: await userTokens(record.userId, scope, next.token) };
      });
      if (outcome.decision === 'reuse_detected') {
        log.warn({ familyId: outcome.record.familyId, userId: outcome.record.userId }, 'refresh token reused: family revoked');
      }
      if (outcome.decision === 'scope_not_granted') throw invalidScope();
      if (!('response' in outcome) || !outcome.response) throw invalidGrant();
      return outcome.response;
    },

    async clientCredentials(clientId, clientSecret, requestedScope) {
      const client = clients.authenticate(clientId, clientSecret);
      if (!client) throw new ProblemError('invalid_client', 'The client id or secret is wrong');
      const scope = grantedScope(client.scope, requestedScope);
      if (!scope) throw invalidScope();
      const access = await tokens.accessToken({ subject: client.id, scope, clientId: client.id });
      return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresInSeconds, scope };
    },
  };
}
