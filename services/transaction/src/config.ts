import { readFileSync } from 'node:fs';
import { commonConfig, int, type Env } from '@wallet/kit';
import { parsePolicy, type Policy } from './domain/policy.ts';

/** TRANSFER_POLICY (JSON) or TRANSFER_POLICY_FILE (a path to JSON); no limits when neither is set. */
function policyOf(env: Env): Policy {
  const text = env.TRANSFER_POLICY ?? (env.TRANSFER_POLICY_FILE ? readFileSync(env.TRANSFER_POLICY_FILE, 'utf8') : '{}');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('TRANSFER_POLICY is not valid JSON');
  }
  return parsePolicy(raw);
}

export function loadConfig(env: Env) {
  const common = commonConfig(env);
  const embedded = common.mode === 'embedded';
  return Object.freeze({
    common,
    /** Largest amount one transfer may move, in minor units. */
    transferAmountMax: BigInt(int(env, 'TRANSFER_AMOUNT_MAX', 100_000_000_000)),
    /** Most transfers committed together in one database transaction (group commit). */
    transferGroupSizeMax: int(env, 'TRANSFER_GROUP_SIZE_MAX', 500, 1, 5000),
    /** Groups committing at once; each holds a pool connection (DATABASE_POOL_MAX must be larger). */
    transferGroupsInFlightMax: int(env, 'TRANSFER_GROUPS_IN_FLIGHT_MAX', embedded ? 1 : 2, 1, 16),
    /** Wait before taking a group; on PGlite (one thread) it lets concurrent requests join. */
    transferGroupLingerMs: int(env, 'TRANSFER_GROUP_LINGER_MS', embedded ? 3 : 0, 0, 100),
    /** Idempotency records live at least this long (never less than 24 hours). */
    idempotencyRetentionHours: int(env, 'IDEMPOTENCY_RETENTION_HOURS', 48, 24, 24 * 365),
    idempotencySweepIntervalMs: int(env, 'IDEMPOTENCY_SWEEP_INTERVAL_MS', 60_000, 1000, 3_600_000),
    /** Limits and fraud rules (docs/limits.md). */
    policy: policyOf(env),
    /** A hold without a timeout expires after this long; no hold outlives the maximum. */
    holdTimeoutDefaultSeconds: int(env, 'HOLD_TIMEOUT_DEFAULT_SECONDS', 7 * 86_400, 1, 30 * 86_400),
    holdTimeoutMaxSeconds: 30 * 86_400,
    holdExpiryIntervalMs: int(env, 'HOLD_EXPIRY_INTERVAL_MS', 1000, 100, 3_600_000),
    pageSizeMax: 100,
    entriesPageSizeMax: 1000,
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    batchBodyLimitBytes: int(env, 'BATCH_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 10 * 1024 * 1024),
  });
}

export type TransactionConfig = ReturnType<typeof loadConfig>;
