// The system under test. Real mode: the five services as separate processes on the local
// PostgreSQL, RabbitMQ and Redis, in a fresh database and namespace (as the system tests do).
// Embedded mode: the all-in-one process, started as a child so its memory is its own.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestInfra, servicePortsEnv, type TestInfra } from '@wallet/testkit';
import { startProcesses, type ProcessStack } from '@wallet/launcher';
import type { Env } from '@wallet/kit';

export interface BenchStack {
  gatewayUrl: string;
  operator: { id: string; secret: string };
  /** Process id of each service (one 'embedded' process in embedded mode). */
  pids: Map<string, number>;
  /** Real mode: the database, broker and cache behind the services. */
  infra?: TestInfra;
  /** Embedded mode: where PGlite keeps its files (readable after stop; removed by the cleanup). */
  dataDir?: string;
  /** Warn/error lines the services printed, counted per service; the first few kept. */
  logs: ServiceLogs;
  stop(): Promise<void>;
}

export class ServiceLogs {
  /** Lines per service and kind (the error type or message of a JSON log line). */
  readonly counts = new Map<string, number>();
  readonly first: string[] = [];

  add(service: string, line: string): void {
    if (line.trim() === '') return;
    const key = `${service}: ${kindOf(line)}`;
    const seen = this.counts.get(key) ?? 0;
    this.counts.set(key, seen + 1);
    if (seen < 2 && this.first.length < 20) {
      this.first.push(`${service}: ${line.slice(0, 600)}`);
      process.stdout.write(`  ${service.padEnd(11)} | ${line.slice(0, 200)}\n`);
    }
  }
}

function kindOf(line: string): string {
  try {
    const parsed = JSON.parse(line) as { level?: number; msg?: string; err?: { type?: string; message?: string } };
    const level = parsed.level === undefined ? '' : `level ${parsed.level} `;
    return `${level}${parsed.err?.type ?? ''}${parsed.err?.type && parsed.msg ? ' ' : ''}${parsed.msg ?? (parsed.err ? '' : 'line')}`.slice(0, 120);
  } catch {
    return line.slice(0, 80);
  }
}

function benchEnv(operator: { id: string; secret: string }): Env {
  return {
    OPERATOR_CLIENT_ID: operator.id,
    OPERATOR_CLIENT_SECRET: operator.secret,
    INTERNAL_CLIENT_SECRET: randomBytes(24).toString('base64url'),
    // One load generator on one address sends everything: the limits must not be what we measure.
    RATE_LIMIT_CALLER_MAX: '100000000',
    RATE_LIMIT_ANONYMOUS_MAX: '100000000',
    RATE_LIMIT_CREDENTIALS_MAX: '100000000',
    // W6 measures lookups, not the per-person lookup budget (the bucket is still consulted).
    ALIAS_LOOKUP_BUCKET_CAPACITY: '1000000000',
    ALIAS_LOOKUP_REFILL_PER_MINUTE: '1000000000',
    ACCOUNTS_PER_USER_MAX: '1000',
    LOG_LEVEL: 'warn',
  };
}

/** Runs fn once however often it is called; later calls wait for the first. */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}

/**
 * `onCleanup` receives the stop function as soon as there is something to stop, so a Ctrl+C
 * during start-up leaves no database, queue or process behind.
 */
export async function startRealStack(onCleanup: (stop: () => Promise<void>) => void): Promise<BenchStack> {
  const infra = await createTestInfra();
  const started: { processes?: ProcessStack } = {};
  const stop = once(async () => {
    await started.processes?.stop();
    await infra.destroy();
  });
  onCleanup(stop);
  const operator = { id: 'bench-operator', secret: randomBytes(18).toString('base64url') };
  const env: Env = { ...infra.env, ...(await servicePortsEnv()), ...benchEnv(operator) };
  const logs = new ServiceLogs();
  const processes = await startProcesses({ env, onOutput: (service, line) => logs.add(service, line) });
  started.processes = processes;
  const pids = new Map<string, number>();
  for (const [name, child] of processes.children) if (child.pid !== undefined) pids.set(name, child.pid);
  return { gatewayUrl: processes.gatewayUrl, operator, pids, infra, logs, stop };
}

const embeddedServer = fileURLToPath(new URL('../embedded-server.ts', import.meta.url));

export async function startEmbeddedStack(onCleanup: (stop: () => Promise<void>) => void): Promise<BenchStack> {
  const operator = { id: 'bench-operator', secret: randomBytes(18).toString('base64url') };
  const dataDir = mkdtempSync(join(tmpdir(), 'wallet-bench-'));
  const env: Env = { ...(await servicePortsEnv()), ...benchEnv(operator), BENCH_DATA_DIR: dataDir };
  const logs = new ServiceLogs();
  const child: ChildProcess = fork(embeddedServer, [], {
    env: { ...process.env, ...env } as NodeJS.ProcessEnv,
    execArgv: [...(process.env.WALLET_NODE_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx'],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const stop = once(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
  });
  onCleanup(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) logs.add('embedded', line);
    });
  }
  const gatewayUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the embedded stack did not start within 60 s')), 60_000);
    child.once('message', (message: unknown) => {
      clearTimeout(timer);
      if (typeof message === 'object' && message !== null && 'gatewayUrl' in message && typeof message.gatewayUrl === 'string') resolve(message.gatewayUrl);
      else reject(new Error(`unexpected message from the embedded stack: ${JSON.stringify(message)}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the embedded stack exited with code ${code}`));
    });
  });
  return { gatewayUrl, operator, pids: new Map([['embedded', child.pid!]]), dataDir, logs, stop };
}
