// What the ledger counts: transfers by outcome and refusal code, and how many go in one commit.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Settled } from '@wallet/kit';
import type { Outcome } from './ledger/service.ts';

export function ledgerMetrics(registry: Registry) {
  const transfers = new Counter({
    name: 'ledger_transfers_total',
    help: 'Ledger operations (transfers, holds and their posts, voids and expiries, reversals) by outcome (completed, replayed, or the refusal code)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const groupSize = new Histogram({
    name: 'ledger_commit_group_size',
    help: 'Requests committed together in one database transaction',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
    registers: [registry],
  });
  return {
    observe(outcomes: readonly Settled<Outcome>[]) {
      groupSize.observe(outcomes.length);
      for (const o of outcomes) {
        if (!o.ok) transfers.inc({ outcome: 'error' });
        else if (o.value.replayed) transfers.inc({ outcome: 'replayed' });
        else if (o.value.status < 300) transfers.inc({ outcome: 'completed' });
        else transfers.inc({ outcome: String((o.value.body as { code?: string }).code ?? o.value.status) });
      }
    },
  };
}
