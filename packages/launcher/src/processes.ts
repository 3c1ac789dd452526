// Real mode: each service its own Node.js process against PostgreSQL, RabbitMQ and Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { commonConfig, type Env } from '@wallet/kit';
import { serviceNames, type ServiceName } from './services.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

export interface ProcessStack {
  /** The first gateway's address. */
  gatewayUrl: string;
  /** Every gateway's address (one per replica). */
  gatewayUrls: string[];
  /** The first replica of each service. */
  children: Map<ServiceName, ChildProcess>;
  /** Every replica of each service, by replica index. */
  replicas: Map<ServiceName, ChildProcess[]>;
  /** The base URL of each replica of a service, by replica index. */
  urls(name: ServiceName): string[];
  /**
   * Starts (or restarts) one service (its replica `replica`, the first by default) and waits until it
   * answers /healthz; `env` adds to (or overrides) the stack's for this start only (e.g. WALLET_CRASH_POINT).
   */
  startService(name: ServiceName, env?: Env, replica?: number): Promise<void>;
  stopService(name: ServiceName, signal?: NodeJS.Signals, replica?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ProcessOptions {
  env: Env;
  /** Where each line of the services' output goes; default: prefixed to this process's stdout. */
  onOutput?: (service: ServiceName, line: string) => void;
  readyTimeoutMs?: number;
  /**
   * Processes of each service (default 1). Replica 0 listens on the ports in `env`, the others on free
   * ports; every process gets every replica's URL (the gateways and the services' calls go round them).
   */
  replicas?: number;
}

/** Services talk to each other with a client secret; a local run without one gets a fresh random one. */
export function realEnv(env: Env): Env {
  return { ...env, WALLET_MODE: 'real', INTERNAL_CLIENT_SECRET: env.INTERNAL_CLIENT_SECRET ?? randomBytes(24).toString('base64url') };
}

export async function startProcesses({ env, onOutput, readyTimeoutMs = 30_000, replicas = 1 }: ProcessOptions): Promise<ProcessStack> {
  if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`replicas must be a positive integer, got ${replicas}`);
  const fullEnv = realEnv(env);
  const common = commonConfig(fullEnv);
  const children = new Map<ServiceName, ChildProcess>();
  const running = new Map<ServiceName, ChildProcess[]>(serviceNames.map((name) => [name, []]));
  const output = onOutput ?? ((service, line) => process.stdout.write(`${service.padEnd(11)} | ${line}\n`));
  const ports = await replicaPorts(common.ports, replicas);
  const urls = (name: ServiceName) => ports[name].map((port) => `http://127.0.0.1:${port}`);
  const replicaEnv = (name: ServiceName, replica: number): Env => {
    if (replicas === 1) return {};
    const own: Env = { [`${name.toUpperCase()}_PORT`]: String(ports[name][replica]) };
    if (name === 'balance') Object.assign(own, { BALANCE_REPLICAS: String(replicas), BALANCE_REPLICA_INDEX: String(replica) });
    // Every process gets every replica's URL: the gateways balance over them, and so do the services'
    // calls to each other (tokens and signing keys come from the first alias replica).
    for (const upstream of ['alias', 'account', 'transaction', 'balance'] as const) own[`${upstream.toUpperCase()}_URL`] = urls(upstream).join(',');
    return own;
  };

  const startService = async (name: ServiceName, env: Env = {}, replica = 0) => {
    // WALLET_NODE_ARGS passes extra Node.js flags to every service (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
    const nodeArgs = (fullEnv.WALLET_NODE_ARGS ?? process.env.WALLET_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', `services/${name}/src/main.ts`], {
      cwd: root,
      env: { ...process.env, ...fullEnv, ...replicaEnv(name, replica), ...env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (replica === 0) children.set(name, child);
    running.get(name)![replica] = child;
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) output(name, replicas === 1 ? line : `#${replica} ${line}`);
      });
    }
    await waitHealthy(`${urls(name)[replica]}/healthz`, child, readyTimeoutMs);
  };

  const stopService = async (name: ServiceName, signal: NodeJS.Signals = 'SIGTERM', replica = 0) => {
    const child = running.get(name)?.[replica];
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const indexes = Array.from({ length: replicas }, (_, replica) => replica);
  const stop = async () => {
    await Promise.all(serviceNames.flatMap((name) => indexes.map((replica) => stopService(name, 'SIGTERM', replica))));
  };

  try {
    // Alias first: the others fetch its signing keys.
    await Promise.all(indexes.map((replica) => startService('alias', {}, replica)));
    await Promise.all(serviceNames.filter((n) => n !== 'alias').flatMap((name) => indexes.map((replica) => startService(name, {}, replica))));
  } catch (error) {
    await stop();
    throw error;
  }
  return { gatewayUrl: common.urls.gateway, gatewayUrls: urls('gateway'), children, replicas: running, urls, startService, stopService, stop };
}

/** Replica 0 keeps the configured port; the others get free ones. */
async function replicaPorts(configured: Record<ServiceName, number>, replicas: number): Promise<Record<ServiceName, number[]>> {
  const ports = {} as Record<ServiceName, number[]>;
  for (const name of serviceNames) {
    ports[name] = [configured[name]];
    for (let i = 1; i < replicas; i++) ports[name].push(await freePort());
  }
  return ports;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not become healthy within ${timeoutMs} ms`);
}
