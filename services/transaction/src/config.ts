import { commonConfig, int, type Env } from '@wallet/kit';

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
    pageSizeMax: 100,
    entriesPageSizeMax: 1000,
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 64 * 1024, 1024, 10 * 1024 * 1024),
    batchBodyLimitBytes: int(env, 'BATCH_BODY_LIMIT_BYTES', 1024 * 1024, 1024, 10 * 1024 * 1024),
  });
}

export type TransactionConfig = ReturnType<typeof loadConfig>;
