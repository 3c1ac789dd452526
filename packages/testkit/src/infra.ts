// Real infrastructure for integration tests: a fresh PostgreSQL database and a fresh broker and
// cache namespace per test file, dropped at the end. No mocks of PostgreSQL, RabbitMQ or Redis.
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createPgDb, createRabbitBus, createRedisCache, type Env, type Infra } from '@wallet/kit';

export const pgAdminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const rabbitmqUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Set by .ci/run: a missing service fails the run instead of skipping integration tests. */
export const servicesRequired = process.env.WALLET_REQUIRE_SERVICES === '1';

/** Something accepts TCP connections on 127.0.0.1:`port` (within 1 s). */
export function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

let availability: Promise<string[]> | undefined;

/** node:test options: skip when PostgreSQL, RabbitMQ or Redis is down, unless they are required. */
export async function needsInfra(): Promise<{ skip: string | false }> {
  availability ??= (async () => {
    const checks = await Promise.all([
      reachable(5432).then((ok) => (ok ? '' : 'PostgreSQL 127.0.0.1:5432')),
      reachable(5672).then((ok) => (ok ? '' : 'RabbitMQ 127.0.0.1:5672')),
      reachable(6379).then((ok) => (ok ? '' : 'Redis 127.0.0.1:6379')),
    ]);
    return checks.filter(Boolean);
  })();
  const missing = await availability;
  if (missing.length === 0) return { skip: false };
  if (servicesRequired) throw new Error(`integration tests need ${missing.join(', ')} (WALLET_REQUIRE_SERVICES=1)`);
  return { skip: `not reachable: ${missing.join(', ')}` };
}

export interface TestInfra extends Infra {
  databaseUrl: string;
  namespace: string;
  /** Environment a service's loadConfig needs to use this infrastructure. */
  env: Env;
  destroy(): Promise<void>;
}

/** The queues the services declare, so a test's namespace leaves nothing behind in RabbitMQ. */
const serviceQueues = ['alias.accounts', 'ledger.accounts', 'balance.router', ...Array.from({ length: 8 }, (_, k) => `balance.p${k}`)];

const silentLog = { warn: () => undefined, error: () => undefined };

export async function createTestInfra(): Promise<TestInfra> {
  const suffix = randomBytes(4).toString('hex');
  const database = `wallet_test_${suffix}`;
  const namespace = `test_${suffix}`;
  const admin = new pg.Client({ connectionString: pgAdminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const databaseUrl = new URL(pgAdminUrl);
  databaseUrl.pathname = `/${database}`;
  const db = createPgDb(databaseUrl.toString(), 4);
  const bus = createRabbitBus(rabbitmqUrl, silentLog, namespace);
  const cache = createRedisCache(redisUrl, silentLog, namespace);
  return {
    db,
    bus,
    cache,
    databaseUrl: databaseUrl.toString(),
    namespace,
    env: {
      WALLET_MODE: 'real',
      WALLET_NAMESPACE: namespace,
      DATABASE_URL: databaseUrl.toString(),
      RABBITMQ_URL: rabbitmqUrl,
      REDIS_URL: redisUrl,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    },
    async destroy() {
      await bus.destroy(serviceQueues).catch(() => undefined);
      await bus.close().catch(() => undefined);
      await cache.close();
      await db.close();
      await dropRedisNamespace(namespace);
      const cleanup = new pg.Client({ connectionString: pgAdminUrl });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await cleanup.end();
    },
  };
}

async function dropRedisNamespace(namespace: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Polls until check returns a value other than undefined, or fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Ports free right now on 127.0.0.1, for services that must know each other's addresses. */
export async function freePorts(count: number): Promise<number[]> {
  const { createServer } = await import('node:net');
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** GATEWAY_PORT … BALANCE_PORT set to ports free right now, for a whole stack under test. */
export async function servicePortsEnv(): Promise<Env> {
  const [gateway, alias, account, transaction, balance] = await freePorts(5);
  return {
    GATEWAY_PORT: String(gateway),
    ALIAS_PORT: String(alias),
    ACCOUNT_PORT: String(account),
    TRANSACTION_PORT: String(transaction),
    BALANCE_PORT: String(balance),
  };
}
