// The three pieces of infrastructure a service is given. Real mode opens them from configuration;
// the embedded launcher builds one shared set in the same process.
import pino from 'pino';
import type { Bus } from './bus.ts';
import { createRabbitBus } from './bus.ts';
import type { Cache } from './cache.ts';
import { createRedisCache } from './cache.ts';
import type { CommonConfig } from './config.ts';
import type { Db } from './db.ts';
import { createPgDb } from './db.ts';
import { closeOnSignals, type DependencyCheck } from './service.ts';
import { logTraceFields, startTracing } from './telemetry.ts';

export interface Infra {
  db: Db;
  bus: Bus;
  cache: Cache;
}

export function createRealInfra(config: CommonConfig, service: string): Infra {
  const log = pino({ level: config.logLevel, base: { service }, mixin: logTraceFields });
  return {
    db: createPgDb(config.databaseUrl, config.databasePoolMax),
    bus: createRabbitBus(config.rabbitmqUrl, log, config.namespace),
    cache: createRedisCache(config.redisUrl, log, config.namespace),
  };
}

export async function closeInfra(infra: Infra): Promise<void> {
  await infra.bus.close().catch(() => undefined);
  await infra.cache.close().catch(() => undefined);
  await infra.db.close().catch(() => undefined);
}

/** What every service module exports so launchers can run it alone or all together. */
export interface RunningService {
  name: string;
  app: import('./service.ts').App;
  /** Starts consumers and background jobs (after listen). */
  start(): Promise<void>;
  /** Stops background work, drains HTTP; does not close the infra. */
  stop(): Promise<void>;
}

/** Runs one service as its own process against real PostgreSQL, RabbitMQ and Redis. */
export async function runStandalone(
  config: CommonConfig,
  name: keyof CommonConfig['ports'],
  create: (infra: Infra) => Promise<RunningService>,
): Promise<void> {
  // Before anything else, so that the service's server and clients are traced from the start.
  const tracing = startTracing(config.tracing, name);
  const infra = createRealInfra(config, name);
  const service = await create(infra);
  await service.app.listen({ host: config.host, port: config.ports[name] });
  await service.start();
  closeOnSignals(async () => {
    await service.stop();
    await closeInfra(infra);
    await tracing.shutdown();
  }, service.app.log);
}

/** A check that has not answered within `ms` counts as down: /readyz must answer quickly itself. */
export function within<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise.catch(() => fallback), late]).finally(() => clearTimeout(timer));
}

export interface ReadinessOptions {
  /** The service uses Redis (real mode): report it. Services that only hold the connection leave it out. */
  redis?: boolean;
  /** This service's outbox backlog, reported while the broker is down. */
  outboxBacklog?: () => Promise<number>;
  /** Per check; default 1 s. */
  timeoutMs?: number;
}

/**
 * Readiness of a service (see docs/reliability.md, Resilience): PostgreSQL is required (no database,
 * no work: unready). The broker and Redis only degrade it: events wait in the outbox until the broker
 * is back and Redis is a cache (reads and limits fall back), so failing readiness for them would take
 * every replica out of rotation at once for something each one absorbs.
 */
export function serviceReadiness({ db, bus, cache }: Infra, options: ReadinessOptions = {}): () => Promise<Record<string, DependencyCheck>> {
  const ms = options.timeoutMs ?? 1000;
  return async () => {
    const [database, broker, redis, backlog] = await Promise.all([
      within(db.ping().then(() => true), ms, false),
      within(bus.ping(), ms, false),
      options.redis && cache.redis ? within(cache.ping(), ms, false) : Promise.resolve(undefined),
      options.outboxBacklog ? within(options.outboxBacklog(), ms, undefined) : Promise.resolve(undefined),
    ]);
    const checks: Record<string, DependencyCheck> = {
      database: { up: database, required: true },
      broker: { up: broker, required: false, ...(broker ? {} : { detail: `events wait in the outbox${backlog === undefined ? '' : ` (${backlog} pending)`}` }) },
    };
    if (redis !== undefined) checks.redis = { up: redis, required: false, ...(redis ? {} : { detail: 'cache bypassed; limits counted in memory' }) };
    return checks;
  };
}
