// npm run bench [-- --profile quick|full] [--w7] [--embedded]
// Baseline (pgbench) → the system as separate processes on PostgreSQL, RabbitMQ and Redis → data
// through the API → workloads W1–W7 through the gateway → correctness checks → report.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPgliteDb, openPglite, type Db } from '@wallet/kit';
import { WalletClient } from '../test/support/client.ts';
import { bulkLoad, withBulk } from './lib/bulk.ts';
import { projectionMatches, sumsAreZero, transfersRecorded, type CheckResult } from './lib/checks.ts';
import { createFixtures, renewTokens, type Fixtures } from './lib/fixtures.ts';
import { LagSampler, type LagFigures } from './lib/lag.ts';
import { closedLoop, openLoop, settleUnanswered, type RunResult } from './lib/load.ts';
import { dropPgbenchDatabase, killPgbench, runBaseline, type Baseline } from './lib/pgbench.ts';
import { ProcSampler } from './lib/procstats.ts';
import { profiles, type Profile } from './lib/profiles.ts';
import { machineInfo, renderReport, workloadResult, writeReport, type Report, type WorkloadResult } from './lib/report.ts';
import { startEmbeddedStack, startRealStack, type BenchStack } from './lib/stack.ts';
import { Pending } from './lib/tally.ts';
import { evaluateTargets } from './lib/targets.ts';
import { inParallel, log, sleep } from './lib/util.ts';
import { workloads, type Next } from './lib/workloads.ts';

const { values: args } = parseArgs({
  options: {
    profile: { type: 'string', default: 'quick' },
    w7: { type: 'boolean', default: false },
    'w7-accounts': { type: 'string' },
    embedded: { type: 'boolean', default: false },
  },
});
const profileName = args.profile ?? 'quick';
if (profileName !== 'quick' && profileName !== 'full') throw new Error(`--profile must be quick or full, not ${profileName}`);
const profile: Profile = profiles[profileName];
const w7Accounts = args['w7-accounts'] === undefined ? profile.w7Accounts : Number(args['w7-accounts']);
const w7Wanted = args.w7 && (profileName === 'full' || args['w7-accounts'] !== undefined);

// Everything started is stopped at the end, on an error and on Ctrl+C.
const cleanups: (() => Promise<void>)[] = [];
let cleaning: Promise<void> | undefined;
const cleanup = () =>
  (cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) await fn().catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
  })());
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping everything`);
    killPgbench();
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

const startedAt = new Date().toISOString();
const pending = new Pending();
const results: WorkloadResult[] = [];
const notes: string[] = [];
let transfersAccepted = 0;
/** Seconds each phase took (the quick profile has a 2-minute budget). */
const phases: Record<string, number> = {};

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const began = Date.now();
  try {
    return await fn();
  } finally {
    phases[name] = (phases[name] ?? 0) + (Date.now() - began) / 1000;
  }
}

interface Harness {
  stack: BenchStack;
  fixtures: Fixtures;
  sampler: ProcSampler;
  w: ReturnType<typeof workloads>;
}

/** Runs one workload inside a resource window; settles requests left unanswered. */
async function measure(h: Harness, label: string, title: string, run: () => Promise<RunResult>, extra: Partial<WorkloadResult> = {}): Promise<WorkloadResult> {
  await renewTokens(h.stack.gatewayUrl, h.fixtures, h.stack.operator.id, h.stack.operator.secret, 10 * 60_000);
  log(`${label}: ${title}…`);
  const end = h.sampler.begin();
  const result = await run();
  const resources = end();
  const unanswered = await settleUnanswered(h.stack.gatewayUrl, pending, result.tally);
  transfersAccepted += result.tally.transfersAccepted;
  const w = workloadResult(label, title, result, resources, extra);
  if (unanswered > 0) w.note = `${unanswered} requests without a final answer in the window, settled by replaying their Idempotency-Key`;
  const p99 = w.latencyMs.all.p99;
  log(`${label}: ${w.acceptedPerS.toFixed(0)} accepted/s, ${w.refusedPerS.toFixed(0)} refused/s, p99 ${p99?.toFixed(1) ?? '–'} ms, ${w.errors} errors`);
  return w;
}

function closed(h: Harness, connections: number, durationS: number, next: Next) {
  return () => closedLoop({ url: h.stack.gatewayUrl, connections, durationS, next, pending });
}

async function start(): Promise<Harness> {
  const onCleanup = (stop: () => Promise<void>) =>
    cleanups.push(async () => {
      log('stopping the services');
      await stop();
    });
  const stack = await timed('start services', () => (args.embedded ? startEmbeddedStack(onCleanup) : startRealStack(onCleanup)));
  log(`${args.embedded ? 'embedded stack' : 'services'} up at ${stack.gatewayUrl} (pids ${[...stack.pids].map(([n, p]) => `${n} ${p}`).join(', ')})`);
  const sampler = new ProcSampler(stack.pids);
  sampler.start();
  cleanups.push(async () => sampler.stop());
  const fixtures = await timed('create data through the API', () =>
    createFixtures(stack.gatewayUrl, stack.operator.id, stack.operator.secret, {
      users: profile.users,
      accounts: profile.accounts,
      unfunded: profile.unfunded,
      fundAmount: profile.fundAmount,
      hotAmount: profile.hotAmount,
      concurrency: 32,
    }),
  );
  return { stack, fixtures, sampler, w: workloads(fixtures) };
}

async function warmUp(h: Harness): Promise<void> {
  if (profile.warmupS <= 0) return;
  log(`warm-up: W1 for ${profile.warmupS} s (not reported)`);
  const run = await closedLoop({ url: h.stack.gatewayUrl, connections: profile.w1Connections[0]!, durationS: profile.warmupS, next: h.w.uniform(), pending });
  await settleUnanswered(h.stack.gatewayUrl, pending, run.tally);
  transfersAccepted += run.tally.transfersAccepted;
}

/** W1 closed loop at each concurrency; returns the best. */
async function runW1(h: Harness): Promise<WorkloadResult> {
  let best: WorkloadResult | undefined;
  for (const c of profile.w1Connections) {
    const w = await measure(h, `W1 c=${c}`, 'uniform transfers, closed loop', closed(h, c, profile.durationS, h.w.uniform()), { connections: c });
    results.push(w);
    if (!best || w.acceptedPerS > best.acceptedPerS) best = w;
  }
  return best!;
}

async function probeBatch(h: Harness): Promise<string> {
  const user = h.fixtures.users[0]!;
  const r = await new WalletClient(h.stack.gatewayUrl, user.token).post('/v1/transfers/batch', {}, { 'idempotency-key': `bench-probe-${Date.now()}` });
  // An empty body moves no money: 404 when the route is missing, 400 (validation) when it exists.
  if (r.status === 404) return 'n/a (endpoint not built)';
  if (r.status === 400) return 'present';
  return `not run: POST /v1/transfers/batch answered ${r.status} to an empty probe`;
}

async function realRun(): Promise<Report> {
  cleanups.push(() => dropPgbenchDatabase());
  log(`baseline: pgbench TPC-B scale 10, c=${profile.pgbenchClients.join('/')}, ${profile.pgbenchS} s each`);
  const baseline: Baseline = await timed('baseline (pgbench)', () => runBaseline(10, profile.pgbenchClients, profile.pgbenchS));

  const h = await start();
  const db = h.stack.infra!.db;
  const pgVersion = (await db.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v.split(' on ')[0];
  const drained = await timed('wait for the balance service', () => projectionMatches(db, 30_000));
  if (!drained.ok) notes.push(`before the workloads the balance service had not caught up: ${drained.detail}`);
  await timed('warm-up', () => warmUp(h));

  const w1 = await timed('workloads', () => runW1(h));
  const rate = Math.max(1, Math.round(w1.acceptedPerS / 2));
  const lag = new LagSampler(h.stack.gatewayUrl, profile.lagEvery);
  const open = await timed('workloads', () => measure(
    h,
    'W1 open',
    'uniform transfers, open loop at ½ the best rate',
    () => openLoop({ url: h.stack.gatewayUrl, ratePerS: rate, durationS: profile.durationS, next: h.w.uniform(), pending, onAccepted: lag.onAccepted }),
    { mode: 'open', offeredPerS: rate },
  ));
  const lagFigures: LagFigures = await timed('workloads', () => lag.finish());
  results.push(open);
  log(`lag: p50 ${lagFigures.p50?.toFixed(1)} ms, p99 ${lagFigures.p99?.toFixed(1)} ms over ${lagFigures.sampled} samples`);

  const c = w1.connections!;
  const w2d = await timed('workloads', () => measure(h, 'W2 debit', 'one hot account debited by every transfer', closed(h, c, profile.durationS, h.w.hotDebit()), { connections: c }));
  results.push(w2d);
  const w2c = await timed('workloads', () => measure(h, 'W2 credit', 'one hot account credited by every transfer', closed(h, c, profile.durationS, h.w.hotCredit()), { connections: c }));
  results.push(w2c);
  let w3: WorkloadResult | undefined;
  let w3Text = await probeBatch(h);
  if (w3Text === 'present') {
    const bc = profile.batchConnections;
    w3 = await timed('workloads', () => measure(h, 'W3', `batches of ${profile.batchSize} transfers`, closed(h, bc, profile.durationS, h.w.batch(profile.batchSize)), { connections: bc }));
    results.push(w3);
    w3Text = `${w3.acceptedPerS.toFixed(0)} transfers/s in batches of ${profile.batchSize} (${(w3.latencyMs.all.count / w3.durationS).toFixed(0)} batches/s)`;
  }
  log(`W3: ${w3Text}`);
  const w4 = await timed('workloads', () => measure(h, 'W4', '10% of senders never funded (refused)', closed(h, c, profile.durationS, h.w.tenPercentRefused()), { connections: c }));
  results.push(w4);
  const rc = profile.readConnections;
  const w5 = await timed('workloads', () => measure(h, 'W5', 'balance reads', closed(h, rc, profile.durationS, h.w.balanceRead()), { connections: rc }));
  results.push(w5);
  const w6 = await timed('workloads', () => measure(h, 'W6', 'alias lookups', closed(h, rc, profile.durationS, h.w.aliasLookup()), { connections: rc }));
  results.push(w6);

  let w7: WorkloadResult | undefined;
  let w7Text = args.w7 ? 'not run: W7 runs in the full profile only (or with --w7-accounts <n>)' : 'not run (pass --w7 with --profile full)';
  if (w7Wanted) {
    log(`W7: bulk-loading ${w7Accounts.toLocaleString('en-US')} accounts with SQL`);
    const seconds = await timed('W7 bulk load', () => bulkLoad(h.stack.infra!, h.fixtures.users.map((u) => u.id), w7Accounts, profile.fundAmount));
    const set = withBulk(h.fixtures.funded, w7Accounts, h.fixtures.users.length);
    w7 = await timed('workloads', () => measure(h, 'W7', `uniform transfers over ${set.size.toLocaleString('en-US')} accounts, c=${c}`, closed(h, c, profile.durationS, h.w.uniform(set)), { connections: c }));
    results.push(w7);
    w7Text = `${w7.acceptedPerS.toFixed(0)} transfers/s over ${set.size.toLocaleString('en-US')} accounts`;
    notes.push(
      `W7: ${w7Accounts.toLocaleString('en-US')} accounts were bulk-loaded directly with SQL in ${seconds.toFixed(0)} s (account.accounts, ledger.accounts, a deposit transfer and its entries in ledger.*, balance.balances, balance.entries), not through the API; no events were published for them`,
    );
  }

  log('correctness checks');
  const checks: CheckResult[] = await timed('checks', async () => [await sumsAreZero(db), await transfersRecorded(db, transfersAccepted), await projectionMatches(db, 30_000)]);
  const rssMaxMb = h.sampler.overallRssMaxMb();
  const w2 = w2d.acceptedPerS <= w2c.acceptedPerS ? w2d : w2c;
  const b = baseline.b;
  const targets = evaluateTargets({
    b,
    w1,
    w2,
    w3PerS: w3?.acceptedPerS,
    open,
    lagP99Ms: lagFigures.p99,
    w5,
    w6,
    w7,
    serviceRssMaxMb: rssMaxMb,
    embedded: undefined,
  });
  return {
    profile: profileName,
    mode: 'real',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machineInfo(pgVersion),
    config: configOf(),
    baseline,
    workloads: results,
    w3: w3Text,
    w7: w7Text,
    lag: lagFigures,
    ratios: {
      w1ToB: w1.acceptedPerS / b,
      w2ToB: w2.acceptedPerS / b,
      w2ToW1: w2.acceptedPerS / w1.acceptedPerS,
      w3ToB: w3 ? w3.acceptedPerS / b : null,
      w7ToW1: w7 ? w7.acceptedPerS / w1.acceptedPerS : null,
    },
    rssMaxMb,
    phasesS: phases,
    serviceLogLines: Object.fromEntries(h.stack.logs.counts),
    serviceLogFirst: h.stack.logs.first,
    targets,
    checks,
    notes,
    ok: checks.every((x) => x.ok),
  };
}

/** Embedded mode has no process boundary to see through; waits until every balance stops moving. */
async function waitBalancesStable(h: Harness): Promise<void> {
  const accounts = [...h.fixtures.funded, h.fixtures.hot];
  let previous = '';
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const sequences = await inParallel(accounts, 16, async (a) => {
      const r = await h.fixtures.operator.balance(a.id);
      return String(r.body.sequence);
    });
    const now = sequences.join(',');
    if (now === previous) return;
    previous = now;
    await sleep(500);
  }
}

async function embeddedRun(): Promise<Report> {
  const h = await start();
  await timed('warm-up', () => warmUp(h));
  const w1 = await timed('workloads', () => runW1(h));
  await timed('wait for the balance service', () => waitBalancesStable(h));
  const rssMaxMb = h.sampler.overallRssMaxMb();
  const logs = h.stack.logs;
  log('stopping the embedded stack to read its database');
  await h.stack.stop();
  const pglite = await openPglite(join(h.stack.dataDir!, 'pglite'));
  const db: Db = createPgliteDb(pglite);
  let checks: CheckResult[];
  let pgVersion: string | undefined;
  try {
    pgVersion = `PGlite (${(await db.query<{ v: string }>('SELECT version() AS v')).rows[0]?.v.split(' on ')[0] ?? '?'})`;
    checks = await timed('checks', async () => [await sumsAreZero(db), await transfersRecorded(db, transfersAccepted), await projectionMatches(db, 0)]);
  } finally {
    await db.close();
  }
  const targets = evaluateTargets({
    b: undefined,
    w1,
    w2: undefined,
    w3PerS: undefined,
    open: undefined,
    lagP99Ms: undefined,
    w5: undefined,
    w6: undefined,
    w7: undefined,
    serviceRssMaxMb: rssMaxMb,
    embedded: { rssMaxMb: rssMaxMb.embedded ?? 0, w1 },
  });
  notes.push('embedded mode: the wallet runs in a child process (PGlite, in-process bus, memory cache); its RSS is that process alone, the load generator runs in the bench process');
  return {
    profile: profileName,
    mode: 'embedded',
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machineInfo(pgVersion),
    config: configOf(),
    workloads: results,
    w3: 'not run in embedded mode',
    w7: 'not run in embedded mode',
    ratios: {},
    rssMaxMb,
    phasesS: phases,
    serviceLogLines: Object.fromEntries(logs.counts),
    serviceLogFirst: logs.first,
    targets,
    checks,
    notes,
    ok: checks.every((x) => x.ok),
  };
}

function configOf(): Record<string, unknown> {
  return {
    ...profile,
    fundAmount: profile.fundAmount.toString(),
    hotAmount: profile.hotAmount.toString(),
    w7: w7Wanted ? w7Accounts : false,
    embedded: args.embedded,
    gatewayLimits: { RATE_LIMIT_CALLER_MAX: 100_000_000, RATE_LIMIT_ANONYMOUS_MAX: 100_000_000, RATE_LIMIT_CREDENTIALS_MAX: 100_000_000 },
    accountsPerUserMax: 1000,
    logLevel: 'warn',
    transferAmounts: '1–100 minor units, uniform',
    latency: 'measured by the bench per request: closed loop from send to full response; open loop from the moment the request was due',
  };
}

let exitCode = 1;
try {
  log(`profile ${profileName}${args.embedded ? ', embedded mode' : ''}${w7Wanted ? `, W7 with ${w7Accounts} accounts` : ''}`);
  const report = args.embedded ? await embeddedRun() : await realRun();
  console.log(renderReport(report));
  const paths = writeReport(report);
  log(`results written to ${paths.join(' and ')}`);
  exitCode = report.ok ? 0 : 1;
} catch (error) {
  log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await cleanup();
}
process.exit(exitCode);
