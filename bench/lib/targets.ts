// Issue 3's targets (full profile; ratios to B from the same run), each with met / not met.
import type { Target, WorkloadResult } from './report.ts';

export interface TargetInputs {
  b: number | undefined;
  w1: WorkloadResult | undefined;
  /** The weaker of hot-debit and hot-credit. */
  w2: WorkloadResult | undefined;
  w3PerS: number | undefined;
  open: WorkloadResult | undefined;
  lagP99Ms: number | undefined;
  w5: WorkloadResult | undefined;
  w6: WorkloadResult | undefined;
  w7: WorkloadResult | undefined;
  serviceRssMaxMb: Record<string, number>;
  embedded: { rssMaxMb: number; w1: WorkloadResult | undefined } | undefined;
}

const n = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
const r2 = (x: number) => x.toFixed(2);

function ratioTarget(id: string, goal: string, value: number | undefined, base: number | undefined, need: number, unit: string): Target {
  if (value === undefined || base === undefined || base === 0) return { id, goal, measured: 'not measured', met: undefined };
  const ratio = value / base;
  return { id, goal, measured: `${n(value)}/s = ${r2(ratio)}× ${unit}`, met: ratio >= need };
}

function readTarget(id: string, w: WorkloadResult | undefined): Target {
  const goal = '≥ 10,000/s, p99 ≤ 15 ms';
  if (!w) return { id, goal, measured: 'not measured', met: undefined };
  const p99 = w.latencyMs.all.p99;
  return { id, goal, measured: `${n(w.acceptedPerS)}/s, p99 ${p99?.toFixed(1) ?? '–'} ms`, met: w.acceptedPerS >= 10_000 && p99 !== undefined && p99 <= 15 };
}

export function evaluateTargets(x: TargetInputs): Target[] {
  const targets: Target[] = [];
  if (x.embedded) {
    const w1 = x.embedded.w1;
    targets.push({ id: 'embedded W1', goal: '≥ 500 transfers/s', measured: w1 ? `${n(w1.acceptedPerS)}/s` : 'not measured', met: w1 ? w1.acceptedPerS >= 500 : undefined });
    targets.push({ id: 'embedded RSS', goal: '≤ 300 MB', measured: `${n(x.embedded.rssMaxMb)} MB`, met: x.embedded.rssMaxMb <= 300 });
    return targets;
  }
  targets.push(ratioTarget('W1 uniform', '≥ 5× B', x.w1?.acceptedPerS, x.b, 5, 'B'));
  targets.push(ratioTarget('W2 hot account', '≥ 0.7× W1', x.w2?.acceptedPerS, x.w1?.acceptedPerS, 0.7, 'W1'));
  targets.push(x.w3PerS === undefined ? { id: 'W3 batch', goal: '≥ 20× B', measured: 'n/a (endpoint not built)', met: undefined } : ratioTarget('W3 batch', '≥ 20× B', x.w3PerS, x.b, 20, 'B'));
  const openP99 = x.open?.latencyMs.all.p99;
  targets.push({
    id: 'latency at ½ W1 max',
    goal: 'p99 ≤ 25 ms (open loop)',
    measured: x.open ? `p99 ${openP99?.toFixed(1) ?? '–'} ms at ${n(x.open.offeredPerS ?? 0)}/s offered` : 'not measured',
    met: x.open ? openP99 !== undefined && openP99 <= 25 && x.open.errors === 0 : undefined,
  });
  targets.push({
    id: 'event-to-balance lag',
    goal: 'p99 ≤ 50 ms at ½ W1 max',
    measured: x.lagP99Ms === undefined ? 'not measured' : `p99 ${x.lagP99Ms.toFixed(1)} ms`,
    met: x.lagP99Ms === undefined ? undefined : x.lagP99Ms <= 50,
  });
  targets.push(readTarget('W5 balance reads', x.w5));
  targets.push(readTarget('W6 alias lookups', x.w6));
  targets.push(x.w7 ? ratioTarget('W7 1M accounts', '≥ 0.8× W1', x.w7.acceptedPerS, x.w1?.acceptedPerS, 0.8, 'W1') : { id: 'W7 1M accounts', goal: '≥ 0.8× W1', measured: 'not run', met: undefined });
  const rss = Object.entries(x.serviceRssMaxMb);
  const worst = rss.reduce<[string, number] | undefined>((w, e) => (!w || e[1] > w[1] ? e : w), undefined);
  targets.push({ id: 'RSS per service', goal: '≤ 150 MB', measured: worst ? `max ${n(worst[1])} MB (${worst[0]})` : 'not measured', met: worst ? worst[1] <= 150 : undefined });
  return targets;
}
