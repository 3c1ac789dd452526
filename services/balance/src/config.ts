// The balance service's settings, read once at boot. Only this file reads the environment.
import { bool, commonConfig, ConfigError, int, type CommonConfig, type Env } from '@wallet/kit';
import { ENTRIES_PER_BATCH_MAX } from './domain/entry.ts';

export interface BalanceConfig {
  common: CommonConfig;
  /** Balance alerts (thresholds on the available balance). */
  alerts: AlertSettings;
  /** The periodic drift check against the ledger (jobs/drift.ts). */
  drift: DriftSettings;
  /** Events in flight from the broker to this consumer, all handled at once (they feed the batcher). */
  consumerPrefetch: number;
  /** Events applied in one database transaction at most. */
  batchEventsMax: number;
  /** Entries asked of the ledger per page when filling a gap. */
  ledgerPageSize: number;
  /** Ledger pages one delivery may fetch to fill a gap; a wider gap goes on at the next delivery. */
  repairPagesMax: number;
  /** Upper bound on one cache call; slower counts as a failure and PostgreSQL answers. */
  cacheTimeoutMs: number;
  /** How often cached balances whose write failed are written again. */
  cacheRetryIntervalMs: number;
  /** Accounts with a failed cache write tracked at once. */
  staleAccountsMax: number;
  /** Between two heartbeats (comment lines) of a balance stream; keep below the gateway's UPSTREAM_BODY_IDLE_TIMEOUT_MS. */
  streamHeartbeatMs: number;
  /** Balance streams open in this process at most; more are refused with 503 too_many_streams. */
  streamsMax: number;
  /** How long GET …/balance?minSequence=N waits for the projection before it asks the ledger. */
  minSequenceWaitMs: number;
  /** Partition queues; one account's events always go to the same one. Change only when drained. */
  partitions: number;
  /** This replica's index among `replicas`: it consumes partitions k with k % replicas = index first. */
  replicaIndex: number;
  replicas: number;
  /** How long a replica waits before standing by on the other replicas' partitions. */
  standbyDelayMs: number;
}

export function loadConfig(env: Env): Readonly<BalanceConfig> {
  return Object.freeze({
    common: commonConfig(env),
    alerts: alertSettings(env),
    drift: driftSettings(env),
    consumerPrefetch: int(env, 'BALANCE_CONSUMER_PREFETCH', 512, 1, 2000),
    batchEventsMax: int(env, 'BALANCE_BATCH_EVENTS_MAX', 256, 1, 1000),
    ledgerPageSize: int(env, 'BALANCE_LEDGER_PAGE_SIZE', 500, 1, ENTRIES_PER_BATCH_MAX),
    repairPagesMax: int(env, 'BALANCE_REPAIR_PAGES_MAX', 20, 1, 1000),
    cacheTimeoutMs: int(env, 'BALANCE_CACHE_TIMEOUT_MS', 250, 10, 10_000),
    cacheRetryIntervalMs: int(env, 'BALANCE_CACHE_RETRY_INTERVAL_MS', 1000, 50, 60_000),
    staleAccountsMax: int(env, 'BALANCE_STALE_ACCOUNTS_MAX', 10_000, 1, 1_000_000),
    streamHeartbeatMs: int(env, 'BALANCE_STREAM_HEARTBEAT_MS', 15_000, 50, 300_000),
    streamsMax: int(env, 'BALANCE_STREAMS_MAX', 10_000, 1, 1_000_000),
    minSequenceWaitMs: int(env, 'BALANCE_MIN_SEQUENCE_WAIT_MS', 2000, 0, 10_000),
    ...replicaConfig(env),
  });
}

function replicaConfig(env: Env) {
  const replicas = int(env, 'BALANCE_REPLICAS', 1, 1, 64);
  const replicaIndex = int(env, 'BALANCE_REPLICA_INDEX', 0, 0, 63);
  if (replicaIndex >= replicas) throw new Error(`BALANCE_REPLICA_INDEX must be below BALANCE_REPLICAS (${replicas})`);
  return {
    partitions: int(env, 'BALANCE_PARTITIONS', 8, 1, 256),
    replicaIndex,
    replicas,
    standbyDelayMs: int(env, 'BALANCE_STANDBY_DELAY_MS', 2000, 0, 60_000),
  };
}

export interface AlertSettings {
  /** Alerts one account may hold. */
  perAccountMax: number;
  /** Alert evaluations (transactions) running at once in this process. */
  concurrency: number;
  /** Accounts waiting for evaluation at most; beyond that the sweep finds them. */
  queueMax: number;
  /** How often alerts left unevaluated (a crash, a full queue, a failure) are looked for; 0: never. */
  sweepIntervalMs: number;
  /** Entries one evaluation transaction walks at most. */
  entriesPerEvaluationMax: number;
}

function alertSettings(env: Env): AlertSettings {
  return {
    perAccountMax: int(env, 'BALANCE_ALERTS_PER_ACCOUNT_MAX', 10, 1, 100),
    concurrency: int(env, 'BALANCE_ALERT_CONCURRENCY', 2, 1, 32),
    queueMax: int(env, 'BALANCE_ALERT_QUEUE_MAX', 10_000, 1, 1_000_000),
    sweepIntervalMs: int(env, 'BALANCE_ALERT_SWEEP_INTERVAL_MS', 5000, 0, 3_600_000),
    entriesPerEvaluationMax: int(env, 'BALANCE_ALERT_ENTRIES_MAX', 1000, 1, 100_000),
  };
}

export interface DriftSettings {
  /** How often the drift check runs; 0: never. */
  intervalMs: number;
  /** The first run, this long after start. */
  firstDelayMs: number;
  /** Accounts per page (one ledger call each); at most 500. */
  pageSize: number;
  /** Accounts one run compares at most; the next run goes on where it stopped. */
  accountsPerRunMax: number;
  /** Repair drifted accounts from the ledger; otherwise only report them. */
  repair: boolean;
}

function driftSettings(env: Env): DriftSettings {
  const intervalMs = int(env, 'BALANCE_DRIFT_CHECK_INTERVAL_MS', 60_000, 0, 86_400_000);
  if (intervalMs > 0 && intervalMs < 1000) throw new ConfigError('BALANCE_DRIFT_CHECK_INTERVAL_MS must be 0 (off) or at least 1000');
  return {
    intervalMs,
    firstDelayMs: Math.min(intervalMs, 5000),
    pageSize: int(env, 'BALANCE_DRIFT_CHECK_PAGE_SIZE', 500, 1, 500),
    accountsPerRunMax: int(env, 'BALANCE_DRIFT_CHECK_ACCOUNTS_MAX', 20_000, 1, 10_000_000),
    repair: bool(env, 'BALANCE_DRIFT_REPAIR', true),
  };
}
