// A Redis server and a RabbitMQ node of the test's own, on free ports, that the test may stop and
// start at will: the shared ones on the default ports serve the other tests running at the same time.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '@wallet/testkit';

/** A server the test can stop and start again on the same port, keeping its data directory. */
export interface PrivateServer {
  url: string;
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops it if running and removes its directory; safe to call more than once. */
  destroy(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 500 });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (child && child.exitCode !== null) throw new Error(`${what}: the process exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** The binary on PATH or in the usual places; throws if missing (a missing dependency fails, it does not skip). */
function binary(name: string, places: string[]): string {
  for (const place of places) if (existsSync(place)) return place;
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  if (!found) throw new Error(`${name} is not installed: the resilience tests start a private one`);
  return found;
}

export async function privateRedis(): Promise<PrivateServer> {
  const server = binary('redis-server', ['/usr/bin/redis-server']);
  const [port] = (await freePorts(1)) as [number];
  const dir = mkdtempSync(join(tmpdir(), 'wallet-resil-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(server, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir], { stdio: 'ignore' });
    await waitFor(() => portOpen(port), `redis-server on port ${port} did not start`, 10_000, child);
  };
  const stop = async () => {
    if (!child) return;
    const running = child;
    child = undefined;
    running.kill('SIGKILL'); // an outage, not a shutdown
    await exited(running);
    await waitFor(async () => !(await portOpen(port)), `redis on port ${port} did not stop`, 5000);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A RabbitMQ node of its own: its own node name, ports, data and log directories, and its own Erlang
 * cookie (HOME is its directory), so `rabbitmqctl stop` can reach it and only it. Started from
 * /usr/lib/rabbitmq/bin directly: the /usr/sbin wrappers switch to the rabbitmq user and read
 * /etc/rabbitmq, whose listener is the shared node's port. Takes about 5 s to start.
 */
export async function privateRabbit(): Promise<PrivateServer> {
  const bin = '/usr/lib/rabbitmq/bin';
  const server = binary('rabbitmq-server', [`${bin}/rabbitmq-server`]);
  const ctl = binary('rabbitmqctl', [`${bin}/rabbitmqctl`]);
  const [port, distPort] = (await freePorts(2)) as [number, number];
  const dir = mkdtempSync(join(tmpdir(), 'wallet-resil-rabbit-'));
  const node = `wallet-resil-${randomBytes(4).toString('hex')}@localhost`;
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\nloopback_users = none\n`);
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'), // absent: not the shared /etc/rabbitmq one
    RABBITMQ_NODENAME: node,
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const serverEnv = {
    ...env,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
  };
  const rabbitmqctl = (...args: string[]) => spawnSync(ctl, ['-n', node, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  let child: ChildProcess | undefined;
  const start = async () => {
    // A process group of its own: the script starts Erlang as a child, and a failed stop kills both.
    child = spawn(server, [], { env: serverEnv, stdio: 'ignore', detached: true });
    await waitFor(() => portOpen(port), `RabbitMQ node ${node} did not open port ${port}`, 60_000, child);
    const ready = rabbitmqctl('await_startup');
    if (ready.status !== 0) throw new Error(`RabbitMQ node ${node}: ${ready.stderr || ready.stdout}`);
  };
  const stop = async () => {
    if (!child) return;
    const running = child;
    child = undefined;
    const stopped = rabbitmqctl('stop');
    if (stopped.status !== 0 && running.pid !== undefined) process.kill(-running.pid, 'SIGKILL');
    await exited(running);
    await waitFor(async () => !(await portOpen(port)), `RabbitMQ node ${node} did not stop`, 10_000);
  };
  try {
    await start();
  } catch (error) {
    await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    port,
    start,
    stop,
    async destroy() {
      await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
