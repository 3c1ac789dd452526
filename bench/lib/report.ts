// The results: one record per workload run, the targets of issue 3 with met / not met, a table
// for the terminal and a JSON file under bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { freemem, totalmem, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { CheckResult } from './checks.ts';
import type { LagFigures } from './lag.ts';
import type { RunResult } from './load.ts';
import type { Baseline } from './pgbench.ts';
import type { WindowFigures } from './procstats.ts';
import { summarize, type LatencySummary } from './tally.ts';

export interface WorkloadResult {
  id: string;
  title: string;
  mode: 'closed' | 'open';
  connections?: number;
  offeredPerS?: number;
  durationS: number;
  sent: number;
  accepted: number;
  refused: number;
  errors: number;
  acceptedPerS: number;
  refusedPerS: number;
  /** Requests left without an answer in the window, settled afterwards by replaying their key. */
  late: { accepted: number; refused: number; errors: number };
  dropped: number;
  timeouts: number;
  latencyMs: { all: LatencySummary; accepted: LatencySummary; refused: LatencySummary };
  statusCounts: Record<string, number>;
  errorExamples: string[];
  resources: WindowFigures;
  note?: string;
}

export function workloadResult(id: string, title: string, run: RunResult, resources: WindowFigures, extra: Partial<WorkloadResult> = {}): WorkloadResult {
  const t = run.tally;
  return {
    id,
    title,
    mode: 'closed',
    durationS: run.durationS,
    sent: run.sent,
    accepted: t.accepted,
    refused: t.refused,
    errors: t.errors + t.late.errors,
    acceptedPerS: t.accepted / run.durationS,
    refusedPerS: t.refused / run.durationS,
    late: t.late,
    dropped: run.dropped,
    timeouts: run.timeouts,
    latencyMs: { all: summarize(t.latency), accepted: summarize(t.latencyAccepted), refused: summarize(t.latencyRefused) },
    statusCounts: Object.fromEntries(t.statusCounts),
    errorExamples: t.errorExamples,
    resources,
    ...extra,
  };
}

export interface Target {
  id: string;
  goal: string;
  measured: string;
  /** undefined: not measured in this run. */
  met: boolean | undefined;
}

export interface Report {
  profile: string;
  mode: 'real' | 'embedded';
  startedAt: string;
  finishedAt: string;
  machine: Record<string, unknown>;
  config: Record<string, unknown>;
  baseline?: Baseline;
  workloads: WorkloadResult[];
  w3: string;
  w7: string;
  lag?: LagFigures;
  ratios: Record<string, number | null>;
  rssMaxMb: Record<string, number>;
  phasesS: Record<string, number>;
  serviceLogLines: Record<string, number>;
  serviceLogFirst: string[];
  targets: Target[];
  checks: CheckResult[];
  notes: string[];
  ok: boolean;
}

export function machineInfo(pgVersion: string | undefined): Record<string, unknown> {
  return {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryTotalBytes: totalmem(),
    memoryFreeBytesAtStart: freemem(),
    node: process.version,
    postgres: pgVersion,
  };
}

const fmt = (n: number | undefined, digits = 0) => (n === undefined || !Number.isFinite(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const ms = (n: number | undefined) => (n === undefined ? '–' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function renderReport(r: Report): string {
  const out: string[] = [];
  const b = r.baseline?.b;
  out.push(`\nWallet bench — profile ${r.profile}, ${r.mode} mode — ${r.finishedAt}`);
  out.push(`machine: ${r.machine.nproc} cores, ${fmt(Number(r.machine.memoryTotalBytes) / 2 ** 30, 1)} GiB, Node ${r.machine.node}, ${r.machine.postgres ?? ''}`);
  if (r.baseline) out.push(`baseline B (pgbench TPC-B, scale ${r.baseline.scale}, -M prepared -j 2, ${r.baseline.durationS} s): ${r.baseline.runs.map((x) => `c=${x.clients} ${fmt(x.tps)} tps`).join(', ')} → B = ${fmt(b)} tps`);
  out.push('');
  out.push(
    table(
      ['workload', 'conn', 'accepted/s', 'refused/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'errors', '× B'],
      r.workloads.map((w) => [
        `${w.id.padEnd(10)} ${w.title}`,
        w.mode === 'open' ? `@${fmt(w.offeredPerS)}/s` : String(w.connections ?? ''),
        fmt(w.acceptedPerS),
        fmt(w.refusedPerS),
        ms(w.latencyMs.all.p50),
        ms(w.latencyMs.all.p99),
        ms(w.latencyMs.all.p999),
        ms(w.latencyMs.all.max),
        String(w.errors) + (w.dropped ? ` (+${w.dropped} dropped)` : ''),
        b && /^W[12347]/.test(w.id) ? fmt(w.acceptedPerS / b, 2) : '',
      ]),
    ),
  );
  out.push(`W3 batch endpoint: ${r.w3}`);
  out.push(`W7 scale: ${r.w7}`);
  if (r.lag) {
    out.push(
      `event-to-balance lag (W1 open loop, 1 in ${r.lag.every} transfers, ${r.lag.sampled} followed, ${r.lag.skipped} skipped): p50 ${ms(r.lag.p50)} ms, p99 ${ms(r.lag.p99)} ms, max ${ms(r.lag.max)} ms, ${r.lag.timeouts} not seen within ${r.lag.capMs} ms`,
    );
  }

  const names = [...new Set(r.workloads.flatMap((w) => Object.keys(w.resources.processes)))];
  const infra = [...new Set(r.workloads.flatMap((w) => Object.keys(w.resources.infra)))];
  out.push('\nCPU % per workload (100 = one core):');
  out.push(
    table(
      ['workload', ...names, ...infra, 'load gen', 'other', 'machine'],
      r.workloads.map((w) => [
        w.id,
        ...names.map((n) => fmt(w.resources.processes[n]?.cpuPct)),
        ...infra.map((n) => fmt(w.resources.infra[n]?.cpuPct)),
        fmt(w.resources.loadGenerator.cpuPct),
        fmt(w.resources.otherCpuPct),
        fmt(w.resources.machineCpuPct),
      ]),
    ),
  );
  out.push(`\nRSS max over the run (MB): ${Object.entries(r.rssMaxMb).map(([n, v]) => `${n} ${fmt(v)}`).join(', ')}`);
  const logLines = Object.entries(r.serviceLogLines);
  if (logLines.length > 0) {
    out.push('service log lines at warn or above (by service and kind):');
    for (const [kind, count] of logLines) out.push(`  ${String(count).padStart(6)}  ${kind}`);
  }

  const withErrors = r.workloads.filter((w) => w.errorExamples.length > 0);
  if (withErrors.length > 0) {
    out.push('\nfirst errors:');
    for (const w of withErrors) for (const e of w.errorExamples) out.push(`  ${w.id}: ${e}`);
  }

  out.push(`\ntargets (issue 3; defined for the full profile${r.profile === 'full' ? '' : ' — this is a ' + r.profile + ' run'}):`);
  out.push(table(['target', 'goal', 'measured', ''], r.targets.map((t) => [t.id, t.goal, t.measured, t.met === undefined ? 'not measured' : t.met ? 'met' : 'NOT MET'])));
  out.push('\ncorrectness:');
  for (const c of r.checks) out.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  out.push(`phases (s): ${Object.entries(r.phasesS).map(([name, s]) => `${name} ${s.toFixed(0)}`).join(', ')}`);
  out.push(r.ok ? '\nresult: correct' : '\nresult: FAILED (see correctness above)');
  return out.join('\n');
}

const resultsDir = fileURLToPath(new URL('../results/', import.meta.url));

export function writeReport(r: Report): string[] {
  mkdirSync(resultsDir, { recursive: true });
  const stamp = r.startedAt.replace(/[:.]/g, '-');
  const suffix = r.mode === 'embedded' ? `${r.profile}-embedded` : r.profile;
  const json = JSON.stringify(r, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2);
  const paths = [`${resultsDir}${stamp}-${suffix}.json`, `${resultsDir}latest-${suffix}.json`];
  for (const path of paths) writeFileSync(path, json + '\n');
  return paths;
}
