// Prometheus metrics every operator needs beyond HTTP: circuit breakers, the database pool, the
// outbox and the broker queues. Each `observe…` puts its metrics on a service's registry; the
// gauges that need a query are read on scrape, bounded by a deadline so a sick dependency never
// hangs /metrics (the last values stay until a read succeeds).
import type CircuitBreaker from 'opossum';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Bus, QueueDepth } from './bus.ts';
import type { Db, PoolStats } from './db.ts';

/** How long a scrape waits for one collector's query. */
const collectDeadlineMs = 2000;
/** The outbox is counted exactly up to this many rows; beyond, from its ids (cheap on the primary key). */
export const outboxCountedMax = 10_000;

/** A breaker's metrics are shared by every breaker on the registry, told apart by label. */
function gaugeOf<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Gauge<L> {
  return (registry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge({ name, help, labelNames, registers: [registry] });
}

function counterOf<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * One read shared by the gauges that show its parts: a scrape collects each gauge in turn, and all
 * of them within `ttlMs` get the same answer. A read still running (a dependency that does not
 * answer) is never started again: scrapes wait for it at most the deadline.
 */
function sharedRead(read: () => Promise<void>, ttlMs = 500): () => Promise<void> {
  let last: { at: number; done: Promise<void> } | undefined;
  let running: Promise<void> | undefined;
  return () => {
    if (!running && (!last || Date.now() - last.at > ttlMs)) {
      running = read()
        .catch(() => undefined)
        .finally(() => {
          running = undefined;
        });
      last = { at: Date.now(), done: running };
    }
    return withDeadline(last!.done, collectDeadlineMs).catch(() => undefined);
  };
}

export const breakerStates = { closed: 0, half_open: 1, open: 2 } as const;

/** Circuit-breaker state (0 closed, 1 half-open, 2 open) and the calls it failed or refused, labelled by the breaker's name. */
export function observeBreaker(registry: Registry, breaker: CircuitBreaker): void {
  const state = gaugeOf(registry, 'circuit_breaker_state', 'Circuit breaker state: 0 closed, 1 half-open, 2 open', ['breaker']);
  const rejected = counterOf(registry, 'circuit_breaker_rejected_total', 'Calls refused at once because the breaker was open', ['breaker']);
  const failures = counterOf(registry, 'circuit_breaker_failures_total', 'Calls through the breaker that failed (counted towards opening it)', ['breaker']);
  const labels = { breaker: breaker.name };
  const current = () => (breaker.opened ? breakerStates.open : breaker.halfOpen ? breakerStates.half_open : breakerStates.closed);
  state.set(labels, current());
  rejected.inc(labels, 0);
  failures.inc(labels, 0);
  breaker.on('open', () => state.set(labels, breakerStates.open));
  breaker.on('halfOpen', () => state.set(labels, breakerStates.half_open));
  breaker.on('close', () => state.set(labels, breakerStates.closed));
  breaker.on('reject', () => rejected.inc(labels));
  breaker.on('failure', () => failures.inc(labels));
}

/** The connection pool (PostgreSQL only: embedded PGlite has none, and nothing is registered). */
export function observePool(registry: Registry, db: Db): void {
  const stats = db.poolStats;
  if (!stats) return;
  const read = (pick: (s: PoolStats) => number) =>
    function (this: Gauge) {
      this.set(pick(stats.call(db)));
    };
  new Gauge({ name: 'db_pool_clients', help: 'Connections open in the pool (busy and idle)', registers: [registry], collect: read((s) => s.total) });
  new Gauge({ name: 'db_pool_idle_clients', help: 'Open connections not checked out', registers: [registry], collect: read((s) => s.idle) });
  new Gauge({ name: 'db_pool_waiting_requests', help: 'Queries and transactions waiting for a connection', registers: [registry], collect: read((s) => s.waiting) });
  new Gauge({ name: 'db_pool_max_clients', help: 'The most connections the pool opens (DATABASE_POOL_MAX)', registers: [registry], collect: read((s) => s.max) });
}

/** Events written but not yet confirmed by the broker, and how long the oldest has waited. */
export function observeOutbox(registry: Registry, db: Db, schema: string): void {
  const read = sharedRead(async () => {
    const { rows } = await db.query<{ counted: bigint; span: bigint | null; age: number | null }>(
      `SELECT (SELECT count(*) FROM (SELECT 1 FROM ${schema}.outbox LIMIT ${outboxCountedMax}) c)::bigint AS counted,
              (SELECT max(id) - min(id) + 1 FROM ${schema}.outbox)::bigint AS span,
              (SELECT extract(epoch FROM now() - created_at) FROM ${schema}.outbox ORDER BY id LIMIT 1)::float8 AS age`,
    );
    const row = rows[0];
    const counted = Number(row?.counted ?? 0n);
    pending.set({ schema }, counted < outboxCountedMax ? counted : Number(row?.span ?? 0n));
    age.set({ schema }, Math.max(0, Number(row?.age ?? 0)));
  });
  const pending = new Gauge({ name: 'outbox_pending_events', help: `Events in the outbox not yet confirmed by the broker (exact up to ${outboxCountedMax}, then estimated from ids)`, labelNames: ['schema'], registers: [registry], collect: read });
  const age = new Gauge({ name: 'outbox_oldest_event_age_seconds', help: 'Age of the oldest event still in the outbox (0 when empty)', labelNames: ['schema'], registers: [registry], collect: read });
}

/** The broker queues this process consumes: messages waiting, consumers attached, and dead letters. */
export function observeBus(registry: Registry, bus: Bus): void {
  const read = sharedRead(async () => {
    const depths: QueueDepth[] = await bus.queueDepths();
    for (const d of depths) {
      ready.set({ queue: d.queue }, d.ready);
      consumers.set({ queue: d.queue }, d.consumers);
      dead.set({ queue: d.queue }, d.deadLettered);
    }
  });
  const ready = new Gauge({ name: 'bus_queue_ready_messages', help: 'Broker messages waiting in a consumed queue, not yet delivered (one message carries up to 200 events of one type)', labelNames: ['queue'], registers: [registry], collect: read });
  const consumers = new Gauge({ name: 'bus_queue_consumers', help: 'Consumers attached to the queue (all replicas)', labelNames: ['queue'], registers: [registry], collect: read });
  const dead = new Gauge({ name: 'bus_dead_letter_messages', help: "Messages in the queue's dead-letter queue (refused or failing past the delivery limit)", labelNames: ['queue'], registers: [registry], collect: read });
}
