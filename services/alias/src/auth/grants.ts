// The three OAuth2 grants of POST /v1/auth/token. Each returns the token response or throws a
// ProblemError whose code is the OAuth2 error (invalid_grant, invalid_client, invalid_scope), or
// `login_throttled` (429) / `mfa_required` for the password grant.
import { randomUUID } from 'node:crypto';
import { ProblemError, scopes, type Db } from '@wallet/kit';
import { parseAliasQuery } from '../domain/alias.ts';
import type { ClientRegistry } from '../domain/clients.ts';
import { grantedScope } from '../domain/clients.ts';
import { decideRefresh } from '../domain/refresh.ts';
import { insertFamily, insertRefreshToken, findRefreshTokenForUpdate, revokeFamily, spendRefreshToken, touchFamily } from '../store/refresh-tokens.ts';
import { findCredentials } from '../store/users.ts';
import { throttleKeys, type LoginThrottle } from './login-throttle.ts';
import type { Mfa } from './mfa.ts';
import type { Passwords } from './passwords.ts';
import { hashRefreshToken, newRefreshToken, type TokenIssuer } from './tokens.ts';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
  scope: string;
}

/** A person's tokens: always with a refresh token. */
export type SessionTokens = TokenResponse & { refresh_token: string };

export interface PasswordGrant {
  username: string;
  password: string;
  scope?: string;
  /** A TOTP code or a recovery code, for people who turned the second factor on. */
  secondFactor?: string;
  /** The client's address as this service sees it (X-Forwarded-For from a trusted proxy only). */
  clientIp: string;
}

export interface Grants {
  password(grant: PasswordGrant): Promise<TokenResponse>;
  refreshToken(refreshToken: string, scope?: string): Promise<TokenResponse>;
  clientCredentials(clientId: string, clientSecret: string, scope?: string): Promise<TokenResponse>;
  /** A new session (refresh-token family) for a person who has just proved who they are. */
  startSession(userId: string, scope: string): Promise<SessionTokens>;
}

interface GrantDeps {
  db: Db;
  passwords: Passwords;
  tokens: TokenIssuer;
  clients: ClientRegistry;
  throttle: LoginThrottle;
  mfa: Mfa;
  refreshTokenTtlSeconds: number;
  log: { warn(obj: object, msg: string): void };
}

const invalidGrant = () => new ProblemError('invalid_grant', 'The username or password is wrong, or the refresh token is not valid');
const invalidScope = () => new ProblemError('invalid_scope', 'The requested scope is not granted to this client');

/** Who a username is counted against: the account holding it, or the name itself when nobody does. */
function accountKey(username: string, userId: string | undefined): string {
  if (userId) return throttleKeys.user(userId);
  const alias = parseAliasQuery(username);
  return throttleKeys.name(alias ? `${alias.type}:${alias.canonical}` : `raw:${username.normalize('NFC').trim().toLowerCase()}`);
}

export function createGrants({ db, passwords, tokens, clients, throttle, mfa, refreshTokenTtlSeconds, log }: GrantDeps): Grants {
  const userTokens = async (userId: string, scope: string, sessionId: string, refreshToken: string): Promise<SessionTokens> => {
    const access = await tokens.accessToken({ subject: userId, scope, sessionId });
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresInSeconds, refresh_token: refreshToken, scope };
  };

  const startSession = async (userId: string, scope: string): Promise<SessionTokens> => {
    const refresh = newRefreshToken();
    const familyId = randomUUID();
    await db.tx(async (q) => {
      await insertFamily(q, { id: familyId, userId, scope, expiresAt: new Date(Date.now() + refreshTokenTtlSeconds * 1000) });
      await insertRefreshToken(q, refresh.hash, familyId);
    });
    return userTokens(userId, scope, familyId, refresh.token);
  };

  return {
    startSession,

    async password({ username, password, scope: requestedScope, secondFactor, clientIp }) {
      // Known and unknown usernames take the same steps in the same order until the password has
      // matched: one lookup, one throttle transaction, one argon2 verification (a dummy hash for
      // nobody). Only then does the path depend on the account.
      const alias = parseAliasQuery(username);
      const credentials = alias ? await findCredentials(db, alias.type, alias.canonical) : undefined;
      const attempt = await throttle.begin({ account: accountKey(username, credentials?.userId), address: throttleKeys.address(clientIp) });
      const matches = await passwords.verify(credentials?.passwordHash, password);
      if (!credentials || !matches) throw invalidGrant(); // the failure stays counted
      const scope = grantedScope(scopes.user, requestedScope);
      if (!scope) {
        await attempt.undecided();
        throw invalidScope();
      }
      if (await mfa.required(credentials.userId)) {
        if (secondFactor === undefined || secondFactor.trim() === '') {
          await attempt.undecided();
          throw new ProblemError('mfa_required', 'This account has a second factor: send the current code of the authenticator app as "totp" (or a recovery code)', {
            mfaMethods: ['totp', 'recovery_code'],
          });
        }
        if (!(await mfa.verify(credentials.userId, secondFactor))) {
          throw new ProblemError('invalid_grant', 'The second-factor code is wrong, expired or already used'); // counted
        }
      }
      await attempt.succeeded();
      return startSession(credentials.userId, scope);
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
        await touchFamily(q, record.familyId);
        // Signed before the commit: if the commit fails, the token never leaves this process.
        return { decision, record, response: await userTokens(record.userId, scope, record.familyId, next.token) };
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
