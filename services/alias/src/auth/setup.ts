// Builds the authentication parts of the alias service from its configuration.
import type { Db } from '@wallet/kit';
import type { AliasConfig } from '../config.ts';
import type { ClientRegistry } from '../domain/clients.ts';
import { createAccountSecurity, type AccountSecurity } from './account.ts';
import { createGrants, type Grants } from './grants.ts';
import { createHousekeeping, type Housekeeping } from './housekeeping.ts';
import type { KeyRing } from './keys.ts';
import { createLoginThrottle } from './login-throttle.ts';
import { createMfa, totpSecretBox, type Mfa } from './mfa.ts';
import type { Passwords } from './passwords.ts';
import { createSessions, type Sessions } from './sessions.ts';
import type { TokenIssuer } from './tokens.ts';

export interface Auth {
  grants: Grants;
  sessions: Sessions;
  mfa: Mfa;
  account: AccountSecurity;
  housekeeping: Housekeeping;
}

export interface AuthDeps {
  config: AliasConfig;
  db: Db;
  keys: KeyRing;
  passwords: Passwords;
  tokens: TokenIssuer;
  clients: ClientRegistry;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** Sessions whose tokens were all revoked or expired are deleted after a week. */
const ENDED_SESSIONS_KEEP_SECONDS = 7 * 24 * 3600;

/** A retired signing key stays published this long: its last tokens expire within it. */
export const retiredGraceSeconds = (config: AliasConfig) => config.accessTokenTtlSeconds + config.auth.signingKeys.retiredMarginSeconds;

export async function createAuth({ config, db, keys, passwords, tokens, clients, log }: AuthDeps): Promise<Auth> {
  const throttle = createLoginThrottle(db, config.auth.throttle);
  const mfa = createMfa({ db, box: await totpSecretBox(db, config.auth.totpEncryptionKey), issuer: config.auth.totpIssuer });
  const grants = createGrants({ db, passwords, tokens, clients, throttle, mfa, refreshTokenTtlSeconds: config.refreshTokenTtlSeconds, log });
  const sessions = createSessions({ db, getKey: keys.getKey, issuer: config.common.tokenIssuer, audience: config.common.tokenAudience });
  const account = createAccountSecurity({ db, passwords, throttle, grants });
  const housekeeping = createHousekeeping(
    { db, keys, log },
    {
      intervalMs: config.auth.housekeepingIntervalMs,
      rotationDays: config.auth.signingKeys.rotationDays,
      publishDelaySeconds: config.auth.signingKeys.publishDelaySeconds,
      failureWindowSeconds: config.auth.throttle.account.windowMs / 1000,
      endedSessionsKeepSeconds: ENDED_SESSIONS_KEEP_SECONDS,
    },
  );
  return { grants, sessions, mfa, account, housekeeping };
}
