// The consumer's Prometheus metrics, on the service's registry (served at /metrics).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DriftObserver, RepairKind } from '../jobs/drift.ts';
import type { ProjectorObserver } from './projector.ts';

export interface ConsumerMetrics extends ProjectorObserver {
  /** A delivery refused: the reason an InvalidEventError gives, or `malformed`. */
  rejected(reason: string): void;
}

export function createConsumerMetrics(registry: Registry): ConsumerMetrics {
  const registers = [registry];
  const lag = new Histogram({
    name: 'balance_event_lag_seconds',
    help: "From the transfer's commit in the ledger to its balances committed here",
    // Fine around the 50 ms objective, so that its quantiles can be read.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const batchSize = new Histogram({
    name: 'balance_batch_size',
    help: 'Events per batch (one database transaction)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers,
  });
  const applied = new Counter({ name: 'balance_events_applied_total', help: 'Events committed, including those whose entries were all duplicates', registers });
  const duplicates = new Counter({ name: 'balance_entries_duplicate_total', help: 'Entries skipped because they were already applied', registers });
  const repairs = new Counter({ name: 'balance_gap_repairs_total', help: 'Gaps filled from the ledger', registers });
  const rejected = new Counter({
    name: 'balance_events_rejected_total',
    help: 'Deliveries refused (never applied; redelivered, then dead-lettered)',
    labelNames: ['reason'] as const,
    registers,
  });
  // Shown at 0 from the start, so that alerts and dashboards find the series before any refusal.
  rejected.inc({ reason: 'malformed' }, 0);

  return {
    batch: (events) => batchSize.observe(events),
    committed(report) {
      applied.inc(report.events);
      if (report.duplicates > 0) duplicates.inc(report.duplicates);
      for (const seconds of report.lagsSeconds) lag.observe(seconds);
    },
    gapRepaired: () => repairs.inc(),
    rejected: (reason) => rejected.inc({ reason }),
  };
}

/**
 * The drift check's metrics (jobs/drift.ts). The gauges describe the last completed check (a sweep
 * over every account); the counters count since start.
 */
/** The drift check's metrics; `suspect` raises the drifted count at once for an event refused as contradicting a balance. */
export function createDriftMetrics(registry: Registry): DriftObserver & { suspect(): void } {
  const registers = [registry];
  const drifted = new Gauge({ name: 'balance_drifted_accounts', help: 'Accounts whose projection differed from the ledger at the same sequence in the last completed drift check', registers });
  const lag = new Gauge({ name: 'balance_projection_lag_entries', help: 'The most entries any one account was behind the ledger in the last completed drift check', registers });
  const checked = new Gauge({ name: 'balance_drift_checked_accounts', help: 'Accounts compared by the last completed drift check', registers });
  const completedAt = new Gauge({ name: 'balance_drift_check_completed_timestamp_seconds', help: 'When the last drift check completed (Unix time)', registers });
  const repairs = new Counter({ name: 'balance_drift_repairs_total', help: 'Accounts repaired from the ledger by the drift check', labelNames: ['kind'] as const, registers });
  const failures = new Counter({ name: 'balance_drift_repair_failures_total', help: 'Drift repairs that failed (the next check tries again)', registers });
  const refills = new Counter({ name: 'balance_drift_cache_refills_total', help: 'Cached balances the drift check wrote because they were missing or older than their row', registers });
  // Every kind shows from the start, at 0.
  for (const kind of ['projection', 'cache', 'catch_up'] as const) repairs.inc({ kind }, 0);
  return {
    completed(report) {
      drifted.set(report.drifted);
      lag.set(Number(report.lagMax));
      checked.set(report.accounts);
      completedAt.set(Date.parse(report.completedAt) / 1000);
    },
    repaired: (kind: RepairKind) => repairs.inc({ kind }),
    repairFailed: () => failures.inc(),
    cacheRefilled: (count) => refills.inc(count),
    // Until the next completed check measures it, an account whose event was refused counts as drifted.
    suspect: () => drifted.inc(),
  };
}
