// Event-to-balance lag at a steady rate, on the real PostgreSQL, RabbitMQ and Redis:
//   npx tsx services/balance/test/lag-bench.ts [eventsPerSecond=1500] [seconds=10] [accounts=1000]
// Books transfers on the stand-in ledger, publishes each at once through the broker and reads the
// service's own balance_event_lag_seconds histogram (transfer createdAt → batch committed) at the end,
// quantiles interpolated inside its buckets. The lag includes the broker hop (publish with confirms
// to a quorum queue, then delivery), which this service does not control.
// The publisher runs in the same process as the service, so it competes for the same CPU.
import { randomUUID } from 'node:crypto';
import { envelope } from '@wallet/kit';
import { eventTypes } from '@wallet/contracts';
import { createTestInfra, eventually, startTestIssuer } from '@wallet/testkit';
import { createBalanceService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { findBalance } from '../src/store/balances.ts';
import { accountOpened, histogramQuantile, metricValue, startFakeLedger } from './support.ts';

const [rate = 1500, seconds = 10, accountsCount = 1000] = process.argv.slice(2).map(Number);
const tickMs = 10;

const infra = await createTestInfra();
const issuer = await startTestIssuer();
const ledger = await startFakeLedger();
const service = await createBalanceService(loadConfig({ ...infra.env, ...issuer.env, TRANSACTION_URL: ledger.url }), infra);
try {
  await service.app.ready();
  await service.start();
  const accounts = Array.from({ length: accountsCount }, () => randomUUID());
  const opened = (id: string) => envelope('account', eventTypes.accountOpened, accountOpened(id, randomUUID()));
  await eventually(
    async () => {
      await infra.bus.publish([opened(accounts[0]!)]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      return (await findBalance(infra.db, accounts[0]!)) ?? undefined;
    },
    15_000,
    'the consumer',
  );
  await infra.bus.publish(accounts.map(opened));
  await eventually(async () => (service.stats.accountsOpened >= accountsCount ? true : undefined), 30_000, 'the accounts');

  const lagCountBefore = await metricValue(service.app, 'balance_event_lag_seconds_count');
  const batchesBefore = service.stats.batches;
  const eventsBefore = service.stats.events;
  const total = Math.round(rate * seconds);
  const started = performance.now();
  let sent = 0;
  const publishing: Array<Promise<void>> = [];
  while (sent < total) {
    // Catch up with the schedule, a tick's worth at a time.
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    if (due > sent) {
      const events = [];
      for (; sent < due; sent++) {
        const from = Math.floor(Math.random() * accountsCount);
        const to = (from + 1 + Math.floor(Math.random() * (accountsCount - 1))) % accountsCount;
        events.push(envelope('transaction', eventTypes.transactionCreated, ledger.book(accounts[from]!, accounts[to]!, 1n + BigInt(Math.floor(Math.random() * 1000)))));
      }
      publishing.push(infra.bus.publish(events));
    }
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  await Promise.all(publishing);
  const publishedMs = performance.now() - started;
  await eventually(async () => (service.stats.events - eventsBefore >= total ? true : undefined), 60_000, 'every event applied');
  const drainedMs = performance.now() - started;

  const observed = (await metricValue(service.app, 'balance_event_lag_seconds_count')) - lagCountBefore;
  const batches = service.stats.batches - batchesBefore;
  const quantile = (q: number) => histogramQuantile(service.app, 'balance_event_lag_seconds', q);
  console.log(
    JSON.stringify({
      offeredPerSecond: rate,
      events: total,
      achievedPerSecond: Math.round((total / publishedMs) * 1000),
      drainedAfterMs: Math.round(drainedMs - publishedMs),
      lagObservations: observed,
      lagP50Ms: Math.round((await quantile(0.5)) * 1000),
      lagP90Ms: Math.round((await quantile(0.9)) * 1000),
      lagP99Ms: Math.round((await quantile(0.99)) * 1000),
      batches,
      meanBatchEvents: Number((total / batches).toFixed(1)),
      largestBatch: service.stats.largestBatch,
    }),
  );
} finally {
  await service.stop();
  await ledger.close();
  await issuer.close();
  await infra.destroy();
}
