// Real mode: each service its own Node.js process against PostgreSQL, RabbitMQ and Redis.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { commonConfig, type Env } from '@wallet/kit';
import { serviceNames, type ServiceName } from './services.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

export interface ProcessStack {
  gatewayUrl: string;
  children: Map<ServiceName, ChildProcess>;
  /** Starts (or restarts) one service and waits until it answers /healthz; `env` adds to (or overrides) the stack's for this start only (e.g. WALLET_CRASH_POINT). */
  startService(name: ServiceName, env?: Env): Promise<void>;
  stopService(name: ServiceName, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export interface ProcessOptions {
  env: Env;
  /** Where each line of the services' output goes; default: prefixed to this process's stdout. */
  onOutput?: (service: ServiceName, line: string) => void;
  readyTimeoutMs?: number;
}

/** Services talk to each other with a client secret; a local run without one gets a fresh random one. */
export function realEnv(env: Env): Env {
  return { ...env, WALLET_MODE: 'real', INTERNAL_CLIENT_SECRET: env.INTERNAL_CLIENT_SECRET ?? randomBytes(24).toString('base64url') };
}

export async function startProcesses({ env, onOutput, readyTimeoutMs = 30_000 }: ProcessOptions): Promise<ProcessStack> {
  const fullEnv = realEnv(env);
  const common = commonConfig(fullEnv);
  const children = new Map<ServiceName, ChildProcess>();
  const output = onOutput ?? ((service, line) => process.stdout.write(`${service.padEnd(11)} | ${line}\n`));

  const startService = async (name: ServiceName, env: Env = {}) => {
    // WALLET_NODE_ARGS passes extra Node.js flags to every service (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
    const nodeArgs = (fullEnv.WALLET_NODE_ARGS ?? process.env.WALLET_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', `services/${name}/src/main.ts`], {
      cwd: root,
      env: { ...process.env, ...fullEnv, ...env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(name, child);
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream?.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) output(name, line);
      });
    }
    await waitHealthy(`http://127.0.0.1:${common.ports[name]}/healthz`, child, readyTimeoutMs);
  };

  const stopService = async (name: ServiceName, signal: NodeJS.Signals = 'SIGTERM') => {
    const child = children.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const stop = async () => {
    await Promise.all(serviceNames.map((name) => stopService(name)));
  };

  try {
    // Alias first: the others fetch its signing keys.
    await startService('alias');
    await Promise.all(serviceNames.filter((n) => n !== 'alias').map((name) => startService(name)));
  } catch (error) {
    await stop();
    throw error;
  }
  return { gatewayUrl: common.urls.gateway, children, startService, stopService, stop };
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
