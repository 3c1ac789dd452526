// The authentication hardening settings (login throttling, trusted proxies, TOTP, signing-key
// rotation), read once at boot by src/config.ts.
import { ConfigError, int, optional, parseTrustedProxies, str, type Env } from '@wallet/kit';
import { SECRET_KEY_BYTES } from './secret-box.ts';
import type { ThrottlePolicy } from './throttle-policy.ts';

const DAY_SECONDS = 24 * 3600;

function policy(env: Env, prefix: 'LOGIN' | 'LOGIN_IP', defaults: { delayAfter: number; lockAfter: number }, shared: Omit<ThrottlePolicy, 'delayAfterFailures' | 'lockAfterFailures'>): ThrottlePolicy {
  const delayAfterFailures = int(env, `${prefix}_DELAY_AFTER_FAILURES`, defaults.delayAfter, 1, 10_000);
  const lockAfterFailures = int(env, `${prefix}_LOCK_AFTER_FAILURES`, defaults.lockAfter, 1, 100_000);
  if (lockAfterFailures < delayAfterFailures) throw new ConfigError(`${prefix}_LOCK_AFTER_FAILURES must not be below ${prefix}_DELAY_AFTER_FAILURES`);
  return { ...shared, delayAfterFailures, lockAfterFailures };
}

/** A 32-byte key, base64 or base64url (e.g. `openssl rand -base64 32`). */
function aesKey(env: Env, name: string): Buffer | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  const key = Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== SECRET_KEY_BYTES || !/^[A-Za-z0-9+/_-]+=*$/.test(raw)) throw new ConfigError(`${name} must be ${SECRET_KEY_BYTES} bytes in base64 (openssl rand -base64 32)`);
  return key;
}

function trustedProxies(value: string): string[] {
  return value.trim() === 'none' ? [] : parseTrustedProxies(value, 'SERVICE_TRUSTED_PROXIES');
}

export function authConfig(env: Env) {
  const shared = {
    baseDelayMs: int(env, 'LOGIN_DELAY_BASE_MS', 1000, 1, 3_600_000),
    maxDelayMs: int(env, 'LOGIN_DELAY_MAX_MS', 60_000, 1, 24 * 3_600_000),
    lockMs: int(env, 'LOGIN_LOCK_SECONDS', 15 * 60, 1, 7 * DAY_SECONDS) * 1000,
    windowMs: int(env, 'LOGIN_FAILURE_WINDOW_SECONDS', DAY_SECONDS, 1, 30 * DAY_SECONDS) * 1000,
  };
  const publishDelaySeconds = int(env, 'SIGNING_KEY_PUBLISH_DELAY_SECONDS', 120, 0, DAY_SECONDS);
  return Object.freeze({
    /** Who may set X-Forwarded-For: the gateway. Loopback by default, where the gateway runs here. */
    /** `none`: X-Forwarded-For is ignored and every request counts against the address it came from. */
    trustedProxies: trustedProxies(optional(env, 'SERVICE_TRUSTED_PROXIES') ?? 'loopback'),
    throttle: Object.freeze({
      account: policy(env, 'LOGIN', { delayAfter: 5, lockAfter: 10 }, shared),
      address: policy(env, 'LOGIN_IP', { delayAfter: 20, lockAfter: 100 }, shared),
    }),
    /** AES-256-GCM key for TOTP secrets; without it a key is generated and kept in the database. */
    totpEncryptionKey: aesKey(env, 'TOTP_ENCRYPTION_KEY'),
    /** The issuer authenticator apps show next to the account. */
    totpIssuer: str(env, 'TOTP_ISSUER', 'Wallet'),
    signingKeys: Object.freeze({
      /** A signing key older than this is replaced by the housekeeping; 0: only by the operator route. */
      rotationDays: int(env, 'SIGNING_KEY_ROTATION_DAYS', 90, 0, 3650),
      /** A new key is published this long before it signs (≥ JWKS reload 60 s + its HTTP cache 30 s + verifiers' refetch cooldown 30 s). */
      publishDelaySeconds,
      /** A retired key stays published for the access-token lifetime plus this margin (clock skew, caches). */
      retiredMarginSeconds: int(env, 'SIGNING_KEY_RETIRED_MARGIN_SECONDS', 300, 30, DAY_SECONDS),
    }),
    housekeepingIntervalMs: int(env, 'AUTH_HOUSEKEEPING_INTERVAL_MS', 60_000, 100, 3_600_000),
  });
}

export type AuthConfig = ReturnType<typeof authConfig>;
