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
import { closeOnSignals } from './service.ts';
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

/** Readiness of a service that needs its database and the broker (Redis is a cache: not needed). */
export function databaseAndBroker({ db, bus }: Pick<Infra, 'db' | 'bus'>): () => Promise<Record<string, boolean>> {
  return async () => ({
    database: await db.ping().then(
      () => true,
      () => false,
    ),
    broker: await bus.ping(),
  });
}
