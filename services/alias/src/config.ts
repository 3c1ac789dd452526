// The alias service's settings, read once at boot. Secrets have no defaults: an unset operator
// client simply does not exist.
import { ConfigError, commonConfig, int, optional, type Env } from '@wallet/kit';
import { directoryConfig } from './directory/config.ts';
import { authConfig } from './auth/config.ts';

/** RFC 9068 caps nothing, but our contract does: access tokens live at most 15 minutes. */
export const ACCESS_TOKEN_TTL_SECONDS_MAX = 900;
const OPERATOR_SECRET_LENGTH_MIN = 16;

export interface OperatorClient {
  id: string;
  secret: string;
}

export function loadConfig(env: Env) {
  const operatorId = optional(env, 'OPERATOR_CLIENT_ID');
  const operatorSecret = optional(env, 'OPERATOR_CLIENT_SECRET');
  if ((operatorId === undefined) !== (operatorSecret === undefined)) {
    throw new ConfigError('OPERATOR_CLIENT_ID and OPERATOR_CLIENT_SECRET must be set together');
  }
  if (operatorSecret !== undefined && operatorSecret.length < OPERATOR_SECRET_LENGTH_MIN) {
    throw new ConfigError(`OPERATOR_CLIENT_SECRET must be at least ${OPERATOR_SECRET_LENGTH_MIN} characters`);
  }
  if (operatorId?.startsWith('svc-')) throw new ConfigError('OPERATOR_CLIENT_ID must not start with "svc-" (service clients use it)');
  const operatorClient: OperatorClient | undefined = operatorId && operatorSecret ? { id: operatorId, secret: operatorSecret } : undefined;

  return Object.freeze({
    common: commonConfig(env),
    operatorClient,
    accessTokenTtlSeconds: int(env, 'ACCESS_TOKEN_TTL_SECONDS', ACCESS_TOKEN_TTL_SECONDS_MAX, 30, ACCESS_TOKEN_TTL_SECONDS_MAX),
    /** Absolute lifetime of a refresh-token family: rotation never extends it. */
    refreshTokenTtlSeconds: int(env, 'REFRESH_TOKEN_TTL_SECONDS', 30 * 24 * 3600, 60, 365 * 24 * 3600),
    /** How often an unknown `kid` may trigger a reload of the signing keys from the database. */
    signingKeysReloadCooldownMs: int(env, 'SIGNING_KEYS_RELOAD_COOLDOWN_MS', 30_000, 0, 3_600_000),
    /** Aliases of every type, their verification and lookups (src/directory/config.ts). */
    directory: directoryConfig(env),
    /** Login throttling, trusted proxies, TOTP, signing-key rotation (src/auth/config.ts). */
    auth: authConfig(env),
  });
}

export type AliasConfig = ReturnType<typeof loadConfig>;
