// Transactional outbox: events are written in the same transaction as the change they describe,
// then a relay publishes them at least once and deletes what the broker confirmed.
import { eventTrace, type Bus, type EventEnvelope } from './bus.ts';
import type { Db, Queryable } from './db.ts';
import { crashPoint } from './crash.ts';
import { outsideTraces } from './telemetry.ts';

/**
 * Events without a trace context get the active one (the request's), kept in the envelope: the relay
 * publishes later, outside any request, and consumers still continue the trace that made the event.
 */
export async function appendOutbox(q: Queryable, schema: string, events: readonly EventEnvelope[]): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((e) => JSON.stringify(e.traceparent ? e : { ...e, ...eventTrace(e) }));
  await q.query(`INSERT INTO ${schema}.outbox (event) SELECT unnest($1::jsonb[])`, [rows]);
}

/** Events written and not yet confirmed by the broker (grows while it is away). */
export async function outboxBacklog(db: Db, schema: string): Promise<number> {
  const { rows } = await db.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM ${schema}.outbox`);
  return Number(rows[0]?.n ?? 0n);
}

export interface OutboxRelay {
  /** Ask for a run now (after a commit) instead of waiting for the next poll. */
  wake(): void;
  /** Publishes everything pending, once; returns how many events went out. */
  flush(): Promise<number>;
  backlog(): Promise<number>;
  stop(): Promise<void>;
}

interface RelayOptions {
  db: Db;
  bus: Bus;
  schema: string;
  log: { warn(obj: object, msg: string): void };
  batchSizeMax?: number;
  pollIntervalMs?: number;
}

export function startOutboxRelay({ db, bus, schema, log, batchSizeMax = 500, pollIntervalMs = 200 }: RelayOptions): OutboxRelay {
  let stopped = false;
  let running: Promise<number> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  // Rows stay locked (SKIP LOCKED lets other replicas take other rows) until the broker confirms.
  const publishBatch = () =>
    db.tx(async (q) => {
      const { rows } = await q.query<{ id: bigint; event: EventEnvelope }>(
        `SELECT id, event FROM ${schema}.outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batchSizeMax],
      );
      if (rows.length === 0) return 0;
      await bus.publish(rows.map((r) => r.event));
      crashPoint('outbox.after_publish_confirmed');
      await q.query(`DELETE FROM ${schema}.outbox WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id.toString())]);
      return rows.length;
    });

  const flush = async () => {
    let total = 0;
    for (;;) {
      const sent = await publishBatch();
      total += sent;
      if (sent < batchSizeMax) return total;
    }
  };

  const run = () => {
    if (running) {
      again = true;
      return;
    }
    // Woken from a commit, the relay must not run inside that request's trace: each event has its own.
    running = outsideTraces(flush)
      .catch((error) => {
        log.warn({ err: error, schema }, 'outbox relay could not publish; will retry');
        return 0;
      })
      .finally(() => {
        running = undefined;
        if (again && !stopped) {
          again = false;
          run();
        }
      });
  };

  const tick = () => {
    if (stopped) return;
    run();
    timer = setTimeout(tick, pollIntervalMs);
  };
  timer = setTimeout(tick, 0);

  return {
    wake: () => {
      if (!stopped) run();
    },
    flush,
    backlog: () => outboxBacklog(db, schema),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** Runs fn at most once per event id, in the same transaction that records the id. */
export async function handleOnce(db: Db, schema: string, eventId: string, fn: (q: Queryable) => Promise<void>): Promise<boolean> {
  return db.tx(async (q) => {
    const inserted = await q.query(`INSERT INTO ${schema}.inbox (event_id) VALUES ($1) ON CONFLICT DO NOTHING`, [eventId]);
    if (inserted.rowCount === 0) return false;
    await fn(q);
    return true;
  });
}
