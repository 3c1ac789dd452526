// The faults the bank test injects: SIGKILL and restart of one service, an immediate stop and
// restart of PostgreSQL, a restart of RabbitMQ's application, and the loss of the namespace's keys
// in Redis (the shared Redis itself is never flushed).
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { serviceNames, type ProcessStack, type ServiceName } from '@wallet/launcher';

const run = promisify(execFile);
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export type FaultKind = 'kill' | 'postgres' | 'rabbitmq' | 'redis';
export const faultKinds: FaultKind[] = ['kill', 'postgres', 'rabbitmq', 'redis'];

/** mulberry32: a small seeded generator, so a seed replays the same fault schedule. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function portOpen(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`${what} did not come back within ${timeoutMs} ms`);
}

const pgCluster = () => readdirSync('/etc/postgresql')[0]!;

export async function stopPostgres(): Promise<void> {
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', pgCluster(), 'main', 'stop', '-m', 'immediate']);
}

export async function startPostgres(): Promise<void> {
  if (!(await portOpen(5432))) await run('pg_ctlcluster', ['--skip-systemctl-redirect', pgCluster(), 'main', 'start']).catch(() => undefined);
  await waitFor('PostgreSQL', () => portOpen(5432));
}

export async function stopRabbit(): Promise<void> {
  await run('rabbitmqctl', ['-q', 'stop_app']);
}

/** Starts RabbitMQ's application (or the whole node if it is down) and waits until it accepts clients. */
export async function startRabbit(): Promise<void> {
  try {
    await run('rabbitmqctl', ['-q', 'start_app']);
  } catch {
    await run('rabbitmq-server', ['-detached']).catch(() => undefined);
  }
  await waitFor('RabbitMQ', async () => (await portOpen(5672)) && (await run('rabbitmqctl', ['-q', 'await_startup']).then(() => true)));
}

/** Deletes the keys of one namespace only (SCAN MATCH <namespace>:*). */
export async function wipeRedisNamespace(redisUrl: string, namespace: string): Promise<number> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

/** Starts a service until it is healthy (it may need PostgreSQL or RabbitMQ to be back first). */
export async function restartService(processes: ProcessStack, name: ServiceName, timeoutMs = 120_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      await processes.startService(name);
      return Date.now() - started;
    } catch (error) {
      await processes.stopService(name, 'SIGKILL').catch(() => undefined);
      if (Date.now() - started > timeoutMs) throw new Error(`${name} did not restart: ${String(error)}`);
      await sleep(500);
    }
  }
}

/** Every service whose process has exited is started again. */
export async function reviveExited(processes: ProcessStack): Promise<ServiceName[]> {
  const revived: ServiceName[] = [];
  for (const name of serviceNames) {
    const child = processes.children.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      await restartService(processes, name);
      revived.push(name);
    }
  }
  return revived;
}

export interface FaultLog {
  kind: FaultKind;
  target?: string;
  at: number;
  /** How long until the faulted part answered again, ms. */
  recoveryMs: number;
}

export interface FaultContext {
  processes: ProcessStack;
  redisUrl: string;
  namespace: string;
  log: (line: string) => void;
}

/** Injects one fault of the given kind and waits until the faulted part is back. */
export async function inject(kind: FaultKind, random: () => number, ctx: FaultContext): Promise<FaultLog> {
  const at = Date.now();
  switch (kind) {
    case 'kill': {
      const name = serviceNames[Math.floor(random() * serviceNames.length)]!;
      await ctx.processes.stopService(name, 'SIGKILL');
      await sleep(200 + Math.floor(random() * 1500));
      await restartService(ctx.processes, name);
      return { kind, target: name, at, recoveryMs: Date.now() - at };
    }
    case 'postgres': {
      await stopPostgres();
      await sleep(1000 + Math.floor(random() * 3000));
      await startPostgres();
      return { kind, at, recoveryMs: Date.now() - at };
    }
    case 'rabbitmq': {
      await stopRabbit();
      await sleep(1000 + Math.floor(random() * 3000));
      await startRabbit();
      return { kind, at, recoveryMs: Date.now() - at };
    }
    case 'redis': {
      const deleted = await wipeRedisNamespace(ctx.redisUrl, ctx.namespace);
      return { kind, target: `${deleted} keys`, at, recoveryMs: 0 };
    }
  }
}
