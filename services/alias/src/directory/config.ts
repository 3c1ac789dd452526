// The alias directory's settings (read by ../config.ts once at boot).
import { ConfigError, int, optional, str, type Env } from '@wallet/kit';

export function directoryConfig(env: Env) {
  const lookup = {
    capacity: int(env, 'ALIAS_LOOKUP_BUCKET_CAPACITY', 100, 1, 1_000_000_000),
    refillPerMinute: int(env, 'ALIAS_LOOKUP_REFILL_PER_MINUTE', 2, 1, 1_000_000_000),
    costFound: int(env, 'ALIAS_LOOKUP_COST_FOUND', 1, 0, 1_000_000_000),
    costMissing: int(env, 'ALIAS_LOOKUP_COST_MISSING', 20, 1, 1_000_000_000),
  };
  if (lookup.costFound > lookup.costMissing) throw new ConfigError('ALIAS_LOOKUP_COST_FOUND must not be above ALIAS_LOOKUP_COST_MISSING');
  // A lookup needs the cost of a miss in the bucket (it is not known yet whether it will hit).
  if (lookup.costMissing > lookup.capacity) throw new ConfigError('ALIAS_LOOKUP_COST_MISSING must not be above ALIAS_LOOKUP_BUCKET_CAPACITY');

  const smtpUrl = optional(env, 'SMTP_URL');
  if (smtpUrl !== undefined) {
    let protocol: string;
    try {
      protocol = new URL(smtpUrl).protocol;
    } catch {
      throw new ConfigError('SMTP_URL must be a URL like smtp://user:password@host:587');
    }
    if (protocol !== 'smtp:' && protocol !== 'smtps:') throw new ConfigError('SMTP_URL must start with smtp:// or smtps://');
  }
  const codeSecret = optional(env, 'VERIFICATION_CODE_SECRET');
  if (codeSecret !== undefined && codeSecret.length < 16) throw new ConfigError('VERIFICATION_CODE_SECRET must be at least 16 characters');

  return {
    aliasesPerUserMax: int(env, 'ALIASES_PER_USER_MAX', 5, 1, 100),
    handleChangesMax: int(env, 'HANDLE_CHANGES_MAX', 2, 0, 1000),
    handleReservationDays: int(env, 'HANDLE_RESERVATION_DAYS', 30, 0, 3650),
    lookup,
    smtpUrl,
    smtpFrom: str(env, 'SMTP_FROM', 'Wallet <no-reply@wallet.localhost>'),
    /** Keys the HMAC of verification codes; without it, derived from INTERNAL_CLIENT_SECRET. */
    codeSecret,
  };
}

export type DirectoryConfig = ReturnType<typeof directoryConfig>;
