// Bursts of events through the real broker into the batching consumer (real PostgreSQL, RabbitMQ and
// Redis): everything applies, in as few transactions as the load allows, with the same guarantees
// as one event at a time — duplicates skipped, gaps repaired from the ledger, bad events refused alone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Connection } from 'rabbitmq-client';
import { splitByPartition } from '../src/events/partitions.ts';
import { envelope, type EventEnvelope } from '@wallet/kit';
import { eventTypes, type TransactionCreated } from '@wallet/contracts';
import { createTestInfra, eventually, needsInfra, rabbitmqUrl, startTestIssuer, type TestInfra, type TestIssuer } from '@wallet/testkit';
import { createBalanceService, type BalanceService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { cacheKey } from '../src/store/balance-cache.ts';
import { findBalance } from '../src/store/balances.ts';
import { accountOpened, histogramQuantile, metricValue, startFakeLedger, type FakeLedger } from './support.ts';

const accountsCount = 50;

describe('batching consumer on real infrastructure', await needsInfra(), () => {
  let infra: TestInfra;
  let issuer: TestIssuer;
  let ledger: FakeLedger;
  let service: BalanceService;
  const settlement = randomUUID();
  const accounts = Array.from({ length: accountsCount }, () => randomUUID());
  const everyAccount = [settlement, ...accounts];

  const created = (data: TransactionCreated) => envelope('transaction', eventTypes.transactionCreated, data);
  const opened = (accountId: string) => envelope('account', eventTypes.accountOpened, accountOpened(accountId, randomUUID()));
  const publish = (events: EventEnvelope[]) => infra.bus.publish(events);

  // A seeded generator: the same bursts on every run.
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  /** Books `count` transfers between random distinct accounts. */
  const bookTransfers = (count: number) =>
    Array.from({ length: count }, () => {
      const from = random(accountsCount);
      const to = (from + 1 + random(accountsCount - 1)) % accountsCount;
      return ledger.book(accounts[from]!, accounts[to]!, BigInt(1 + random(1000)));
    });

  const historyCount = async () => {
    const { rows } = await infra.db.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM balance.entries WHERE account_id = ANY($1::uuid[])', [everyAccount]);
    return Number(rows[0]!.n);
  };
  const ledgerEntriesCount = () => everyAccount.reduce((sum, id) => sum + Number(ledger.sequenceOf(id)), 0);

  /** Waits until PostgreSQL holds the ledger's sequence for every account, then checks every balance. */
  const settled = async (timeoutMs = 60_000) => {
    await eventually(
      async () => {
        const { rows } = await infra.db.query<{ account_id: string; sequence: bigint }>('SELECT account_id, sequence FROM balance.balances WHERE account_id = ANY($1::uuid[])', [
          everyAccount,
        ]);
        const reached = rows.filter((r) => r.sequence === ledger.sequenceOf(r.account_id)).length;
        return reached === everyAccount.length ? true : undefined;
      },
      timeoutMs,
      'every balance at the ledger sequence',
    );
    for (const accountId of everyAccount) {
      const stored = await findBalance(infra.db, accountId);
      assert.equal(stored?.posted, ledger.balanceOf(accountId), accountId);
      assert.equal(stored?.pending, ledger.pendingOf(accountId), accountId);
      assert.equal(stored?.sequence, ledger.sequenceOf(accountId), accountId);
    }
    assert.equal(await historyCount(), ledgerEntriesCount(), 'one history row per ledger entry');
  };

  const deadLetters = async () => {
    const connection = new Connection(rabbitmqUrl);
    try {
      let total = 0;
      for (let k = 0; k < 8; k++) total += (await connection.queueDeclare({ queue: `${infra.namespace}.balance.p${k}.dlq`, passive: true })).messageCount;
      return total;
    } finally {
      await connection.close();
    }
  };

  before(async () => {
    infra = await createTestInfra();
    issuer = await startTestIssuer();
    ledger = await startFakeLedger();
    const config = loadConfig({ ...infra.env, ...issuer.env, TRANSACTION_URL: ledger.url });
    service = await createBalanceService(config, infra);
    await service.app.ready();
    await service.start();
    // The consumer binds its queue in the background: publish the first (idempotent) event until it lands.
    await eventually(
      async () => {
        await publish([opened(settlement)]);
        await new Promise((resolve) => setTimeout(resolve, 200));
        return (await findBalance(infra.db, settlement)) ?? undefined;
      },
      15_000,
      'the consumer to bind its queue',
    );
    await publish(accounts.map(opened));
    await eventually(async () => ((await Promise.all(accounts.map((id) => findBalance(infra.db, id)))).every(Boolean) ? true : undefined), 15_000, 'the accounts');
  });

  after(async () => {
    await service?.stop();
    await ledger?.close();
    await issuer?.close();
    await infra?.destroy();
  });

  test("the cache's pipelined versioned writes keep only the newest version of each key", async () => {
    const [k1, k2] = [`versioned-test:${randomUUID()}`, `versioned-test:${randomUUID()}`];
    assert.deepEqual(await infra.cache.setVersionedMany([]), []);
    assert.deepEqual(
      await infra.cache.setVersionedMany([
        { key: k1, version: 5n, fields: { available: '50' } },
        { key: k2, version: 1n, fields: { available: '10' } },
      ]),
      [true, true],
    );
    assert.deepEqual(
      await infra.cache.setVersionedMany([
        { key: k1, version: 3n, fields: { available: '30' } },
        { key: k2, version: 2n, fields: { available: '20' } },
        { key: k1, version: 5n, fields: { available: '55' } },
      ]),
      [false, true, false],
    );
    assert.deepEqual(await infra.cache.getVersioned(k1), { version: '5', available: '50' });
    assert.deepEqual(await infra.cache.getVersioned(k2), { version: '2', available: '20' });
  });

  test('a burst of 2,000 transfers is applied completely and correctly, many per transaction', async (t) => {
    const before = { ...service.stats };
    const events = [...accounts.map((id) => ledger.book(settlement, id, 1_000_000n, 'deposit')), ...bookTransfers(2000 - accountsCount)].map(created);
    const started = performance.now();
    await publish(events);
    await settled();
    const elapsedMs = performance.now() - started;

    // Each account's share of an event is applied in its partition: a transfer between two partitions counts twice.
    const shares = [...splitByPartition(events, 8).values()].reduce((n, list) => n + list.length, 0);
    assert.equal(service.stats.events - before.events, shares);
    assert.equal(service.stats.applied - before.applied, events.length * 2);
    assert.equal(service.stats.duplicates, before.duplicates);
    assert.equal(service.stats.repaired, before.repaired);
    assert.equal(service.stats.rejected, before.rejected);
    assert.ok(service.stats.largestBatch > 1, `largest batch ${service.stats.largestBatch}`);
    const batches = await metricValue(service.app, 'balance_batch_size_count');
    const batchedEvents = await metricValue(service.app, 'balance_batch_size_sum');
    assert.ok(batchedEvents / batches > 1, `${batchedEvents} events in ${batches} batches`);
    assert.ok((await metricValue(service.app, 'balance_event_lag_seconds_count')) >= events.length);
    // The cache gets every final balance, versioned by sequence (its write follows the commit).
    for (const accountId of everyAccount) {
      const cached = await eventually(
        async () => {
          const fields = await infra.cache.getVersioned(cacheKey(accountId));
          return fields?.sequence === String(ledger.sequenceOf(accountId)) ? fields : undefined;
        },
        5000,
        `the cached balance of ${accountId}`,
      );
      assert.equal(cached.posted, String(ledger.balanceOf(accountId)), accountId);
    }
    t.diagnostic(
      `${events.length} events in ${elapsedMs.toFixed(0)} ms from publish to applied: ${((events.length / elapsedMs) * 1000).toFixed(0)} events/s; ` +
        `${service.stats.batches - before.batches} batches, largest ${service.stats.largestBatch}; ` +
        `lag p99 ≈ ${((await histogramQuantile(service.app, 'balance_event_lag_seconds', 0.99)) * 1000).toFixed(0)} ms (a burst: includes queueing)`,
    );
  });

  test('duplicates inside one batch and across batches change nothing', async () => {
    const before = { ...service.stats, history: await historyCount() };
    const transfers = bookTransfers(300).map(created);
    // Each event twice in a row: the same envelope, or the same data in a new one.
    await publish(transfers.flatMap((event, i) => [event, i % 2 === 0 ? event : created(event.data)]));
    await settled();
    // Then a hundred of them again, later, in other batches.
    await publish(transfers.slice(0, 100));
    await eventually(async () => (service.stats.duplicates >= before.duplicates + 800 ? true : undefined), 30_000, 'the duplicates');
    await settled();
    assert.equal(service.stats.duplicates, before.duplicates + (300 + 100) * 2);
    assert.equal(service.stats.applied, before.applied + 300 * 2);
    assert.equal(await historyCount(), before.history + 300 * 2);
    assert.equal(service.stats.repaired, before.repaired);
  });

  test('a gap inside a batch is repaired from the ledger, never skipped', async () => {
    const before = { ...service.stats };
    const [p, q] = [accounts[3]!, accounts[4]!];
    const head = bookTransfers(100);
    const withheld = ledger.book(p, q, 777n);
    // p's and q's next entries come after the one that never arrives.
    const tail = [ledger.book(p, accounts[5]!, 1n), ledger.book(accounts[6]!, q, 2n), ...bookTransfers(100)];
    const [pMissing, qMissing] = [BigInt(withheld.entries[0]!.sequence), BigInt(withheld.entries[1]!.sequence)];
    await publish([...head, ...tail].map(created));
    await settled();
    assert.equal(service.stats.repaired - before.repaired, 2, 'exactly the two entries that never arrived');
    assert.equal(service.stats.gapsRepaired - before.gapsRepaired, 2);
    assert.ok(ledger.requests.includes(`/internal/accounts/${p}/entries?afterSequence=${pMissing - 1n}&limit=1`), ledger.requests.join('\n'));
    assert.ok(ledger.requests.includes(`/internal/accounts/${q}/entries?afterSequence=${qMissing - 1n}&limit=1`), ledger.requests.join('\n'));
    assert.equal(await metricValue(service.app, 'balance_gap_repairs_total'), service.stats.gapsRepaired);
    const { rows } = await infra.db.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM balance.entries WHERE transfer_id = $1', [withheld.transfer.id]);
    assert.equal(rows[0]!.n, 2n, 'the repaired entries carry their transfer');

    // The withheld event arrives at last: duplicates only.
    const duplicatesBefore = service.stats.duplicates;
    await publish([created(withheld)]);
    await eventually(async () => (service.stats.duplicates === duplicatesBefore + 2 ? true : undefined), 15_000, 'the late event');
    await settled();
  });

  test('one invalid event in a burst: every other event applies, the bad one never does and is dead-lettered', async () => {
    const before = { ...service.stats, deadLetters: await deadLetters() };
    const [a, b] = [accounts[7]!, accounts[8]!];
    const head = bookTransfers(250);
    // The ledger's next entry of a says something else: it does not add up.
    const badId = randomUUID();
    const now = new Date().toISOString();
    const bad = created({
      transfer: { id: badId, kind: 'transfer', fromAccountId: a, toAccountId: b, amount: '100', currency: 'USD', description: null, createdAt: now },
      entries: [
        { accountId: a, transferId: badId, currency: 'USD', amount: '-100', balanceAfter: String(ledger.balanceOf(a) - 99n), sequence: String(ledger.sequenceOf(a) + 1n), createdAt: now },
      ],
    });
    const tail = [ledger.book(a, b, 5n), ledger.book(b, a, 3n), ...bookTransfers(250)];
    await publish([...head.map(created), bad, ...tail.map(created)]);

    await eventually(async () => ((await deadLetters()) === before.deadLetters + 1 ? true : undefined), 30_000, 'the bad event in the dead-letter queue');
    await settled();
    const { rows } = await infra.db.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM balance.entries WHERE transfer_id = $1', [badId]);
    assert.equal(rows[0]!.n, 0n, 'the bad entry was not applied');
    assert.equal(service.stats.applied - before.applied, (head.length + tail.length) * 2);
    assert.ok(service.stats.rejected > before.rejected);
    assert.ok((await metricValue(service.app, 'balance_events_rejected_total')) >= service.stats.rejected - before.rejected);
    assert.equal(service.stats.repaired, before.repaired, 'the good events needed no repair');
  });
});
