// Baseline B: pgbench TPC-B on the same PostgreSQL, in a database of its own (created and dropped
// here): scale 10, prepared statements, 2 threads; B = the best tps over the client counts.
import { spawn, type ChildProcess } from 'node:child_process';
import { createPgDb } from '@wallet/kit';
import { pgAdminUrl } from '@wallet/testkit';
import { log } from './util.ts';

export const pgbenchDatabase = 'bench_pgbench';
const pgbenchPath = process.env.PGBENCH ?? '/usr/bin/pgbench';

export interface PgbenchRun {
  clients: number;
  tps: number;
  latencyAvgMs: number | undefined;
}

export interface Baseline {
  scale: number;
  durationS: number;
  runs: PgbenchRun[];
  /** The best tps. */
  b: number;
}

let running: ChildProcess | undefined;

/** Stops a pgbench started here (Ctrl+C). */
export function killPgbench(): void {
  if (running && running.exitCode === null) running.kill('SIGTERM');
}

function connectionArgs(): string[] {
  const url = new URL(pgAdminUrl);
  return ['-h', url.hostname, '-p', url.port || '5432', '-U', decodeURIComponent(url.username || 'postgres')];
}

function pgbench(args: string[]): Promise<string> {
  const url = new URL(pgAdminUrl);
  return new Promise((resolve, reject) => {
    const child = spawn(pgbenchPath, [...connectionArgs(), ...args, pgbenchDatabase], {
      env: { ...process.env, ...(url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running = child;
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      running = undefined;
      if (code === 0) resolve(output);
      else reject(new Error(`pgbench ${args.join(' ')} exited with ${code}:\n${output.slice(-2000)}`));
    });
  });
}

async function admin(sql: string): Promise<void> {
  const db = createPgDb(pgAdminUrl, 1);
  try {
    await db.query(sql);
  } finally {
    await db.close();
  }
}

export async function dropPgbenchDatabase(): Promise<void> {
  await admin(`DROP DATABASE IF EXISTS ${pgbenchDatabase} WITH (FORCE)`);
}

export async function runBaseline(scale: number, clientCounts: readonly number[], durationS: number): Promise<Baseline> {
  await dropPgbenchDatabase();
  await admin(`CREATE DATABASE ${pgbenchDatabase}`);
  try {
    const began = Date.now();
    await pgbench(['-i', '-q', '-s', String(scale)]);
    log(`pgbench: initialised scale ${scale} (${Date.now() - began} ms)`);
    const runs: PgbenchRun[] = [];
    for (const clients of clientCounts) {
      const output = await pgbench(['-n', '-M', 'prepared', '-j', '2', '-c', String(clients), '-T', String(durationS)]);
      const tps = Number(output.match(/tps = ([\d.]+) \(without initial connection time\)/)?.[1]);
      if (!Number.isFinite(tps)) throw new Error(`no tps in pgbench output:\n${output}`);
      const latency = output.match(/latency average = ([\d.]+) ms/)?.[1];
      runs.push({ clients, tps, latencyAvgMs: latency === undefined ? undefined : Number(latency) });
      log(`pgbench TPC-B c=${clients}: ${tps.toFixed(0)} tps`);
    }
    return { scale, durationS, runs, b: Math.max(...runs.map((r) => r.tps)) };
  } finally {
    await dropPgbenchDatabase();
  }
}
