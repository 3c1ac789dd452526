// The consumer's Prometheus metrics, on the service's registry (served at /metrics).
import { Counter, Histogram, type Registry } from 'prom-client';
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
