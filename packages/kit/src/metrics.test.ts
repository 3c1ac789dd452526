import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { reachable } from '@wallet/testkit';
import { createMemoryBus, createRabbitBus, envelope, DeadLetterError } from './bus.ts';
import { createPgliteDb, openPglite, type Db } from './db.ts';
import { createServiceClient } from './http-client.ts';
import { kitMigrationsDir, migrate } from './migrate.ts';
import { appendOutbox } from './outbox.ts';
import { observeBreaker, observeBus, observeOutbox, observePool, outboxCountedMax } from './metrics.ts';

const silent = { warn: () => undefined, error: () => undefined };

/** One sample of the registry's text output, by metric name and label text. */
async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('a service client breaker shows closed, then open with its rejections counted, on the registry', async () => {
  const server = createServer((_request, response) => response.writeHead(503).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const registry = new Registry();
    const client = createServiceClient({ name: 'ledger', baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, getAttemptsMax: 1, metrics: registry });
    assert.equal(await sample(registry, 'circuit_breaker_state{breaker="ledger"}'), 0);
    assert.equal(await sample(registry, 'circuit_breaker_rejected_total{breaker="ledger"}'), 0);
    for (let i = 0; i < 8; i++) await client.get('/x').catch(() => undefined);
    assert.equal(client.breaker.opened, true);
    assert.equal(await sample(registry, 'circuit_breaker_state{breaker="ledger"}'), 2);
    assert.ok((await sample(registry, 'circuit_breaker_failures_total{breaker="ledger"}'))! >= 5);
    assert.ok((await sample(registry, 'circuit_breaker_rejected_total{breaker="ledger"}'))! >= 1);
    // A second breaker on the same registry shares the metrics, told apart by its label.
    observeBreaker(registry, createServiceClient({ name: 'alias', baseUrl: 'http://127.0.0.1:1' }).breaker);
    assert.equal(await sample(registry, 'circuit_breaker_state{breaker="alias"}'), 0);
    client.breaker.shutdown();
  } finally {
    server.close();
  }
});

test('the outbox backlog and the age of its oldest event, read on scrape', async () => {
  const db = createPgliteDb(await openPglite(undefined));
  await db.exec('CREATE SCHEMA IF NOT EXISTS probe');
  await migrate(db, 'probe', [kitMigrationsDir]);
  const registry = new Registry();
  observeOutbox(registry, db, 'probe');
  observePool(registry, db); // PGlite has no pool: nothing registered
  assert.equal(await sample(registry, 'outbox_pending_events{schema="probe"}'), 0);
  assert.equal(await sample(registry, 'outbox_oldest_event_age_seconds{schema="probe"}'), 0);
  await appendOutbox(db, 'probe', [envelope('probe', 'thing.done', {}), envelope('probe', 'thing.done', {})]);
  await db.query(`UPDATE probe.outbox SET created_at = now() - interval '90 seconds' WHERE id = (SELECT min(id) FROM probe.outbox)`);
  await new Promise((resolve) => setTimeout(resolve, 600)); // past the shared read's reuse window
  assert.equal(await sample(registry, 'outbox_pending_events{schema="probe"}'), 2);
  const age = (await sample(registry, 'outbox_oldest_event_age_seconds{schema="probe"}'))!;
  assert.ok(age >= 90 && age < 120, `age ${age}`);
  assert.equal((await registry.metrics()).includes('db_pool_'), false);

  // Past the exact count, the backlog is estimated from the ids (a hole left by another replica's batch counts).
  await db.query(`INSERT INTO probe.outbox (event) SELECT '{}'::jsonb FROM generate_series(1, ${outboxCountedMax + 100})`);
  await db.query('DELETE FROM probe.outbox WHERE id IN (SELECT id FROM probe.outbox ORDER BY id OFFSET 10 LIMIT 5)');
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(await sample(registry, 'outbox_pending_events{schema="probe"}'), outboxCountedMax + 102);
});

test('a database that does not answer leaves /metrics answering within the deadline', async () => {
  const hung: Db = { kind: 'pg', query: () => new Promise(() => undefined), exec: async () => undefined, tx: () => new Promise(() => undefined), ping: async () => undefined, close: async () => undefined, poolStats: () => ({ total: 4, idle: 1, waiting: 7, max: 4 }) };
  const registry = new Registry();
  observeOutbox(registry, hung, 'probe');
  observePool(registry, hung);
  const started = Date.now();
  const text = await registry.metrics();
  assert.ok(Date.now() - started < 5000, 'generous: the deadline is 2 s');
  assert.match(text, /db_pool_waiting_requests 7/);
  assert.match(text, /db_pool_clients 4/);
});

test('the queues a bus consumes: messages waiting and dead letters', async () => {
  const bus = createMemoryBus(silent);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  await bus.subscribe({
    queue: 'probe.things',
    topics: ['thing.*'],
    handler: async (event) => {
      if (event.type === 'thing.bad') throw new DeadLetterError('bad');
      await gate;
    },
  });
  const registry = new Registry();
  observeBus(registry, bus);
  await bus.publish([envelope('p', 'thing.bad', {}), envelope('p', 'thing.ok', {}), envelope('p', 'thing.ok', {}), envelope('p', 'thing.ok', {})]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(await sample(registry, 'bus_dead_letter_messages{queue="probe.things"}'), 1);
  assert.equal(await sample(registry, 'bus_queue_ready_messages{queue="probe.things"}'), 2, 'one in the handler, two waiting');
  assert.equal(await sample(registry, 'bus_queue_consumers{queue="probe.things"}'), 1);
  release();
  await bus.close();
});


describe('RabbitMQ', { skip: (await reachable(5672)) ? false : process.env.WALLET_REQUIRE_SERVICES === '1' ? undefined : 'RabbitMQ not reachable' }, () => {
  test('queue depths come from the broker: messages ready, consumers, dead letters', async () => {
    const bus = createRabbitBus(process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672', silent, `test_${randomBytes(4).toString('hex')}`);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    try {
      await bus.subscribe({
        queue: 'probe',
        topics: ['thing.*'],
        prefetch: 1,
        handler: async (event) => {
          if (event.type === 'thing.bad') throw new DeadLetterError('bad');
          await gate;
        },
      });
      const registry = new Registry();
      observeBus(registry, bus);
      await bus.publish([envelope('p', 'thing.bad', {})]);
      // One message each (a run of one type would travel as one message): one held by the handler, three ready.
      for (let i = 0; i < 4; i++) await bus.publish([envelope('p', 'thing.ok', {})]);
      const deadline = Date.now() + 10_000;
      let seen: [number | undefined, number | undefined] = [undefined, undefined];
      while (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 600));
        seen = [await sample(registry, 'bus_queue_ready_messages{queue="probe"}'), await sample(registry, 'bus_dead_letter_messages{queue="probe"}')];
        if (seen[0] === 3 && seen[1] === 1) break;
      }
      assert.deepEqual(seen, [3, 1], 'ready, dead-lettered');
      assert.equal(await sample(registry, 'bus_queue_consumers{queue="probe"}'), 1);
    } finally {
      release();
      await bus.destroy();
      await bus.close();
    }
  });
});
