// Bank test under faults (Jepsen style): npm run test:chaos [-- --profile short|long] [--seed N]
// Every service runs as its own process on a fresh database and broker namespace; M accounts get a
// known total by operator deposits; C clients make random transfers through the gateway, each with
// an Idempotency-Key that is re-sent unchanged after a timeout, a connection error or a 5xx. A
// seeded schedule meanwhile SIGKILLs and restarts services, stops PostgreSQL immediately, restarts
// RabbitMQ and wipes the namespace's Redis keys. Snapshot reads check the totals while it runs; at
// the end, after quiescence, every acknowledged transfer must be in the ledger exactly once, every
// refused one absent, and the balance service equal to the ledger. Exit 1 on any violation.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { serviceNames } from '@wallet/launcher';
import { WalletClient } from '../test/support/client.ts';
import { startRealStack, type Stack } from '../test/support/stack.ts';
import { finalChecks, ledgerBalances, snapshotViolations, type History, type Violation } from './checks.ts';
import { faultKinds, inject, portOpen, reviveExited, rng, sleep, startPostgres, startRabbit, type FaultKind, type FaultLog } from './faults.ts';

const { values: args } = parseArgs({ options: { profile: { type: 'string', default: 'short' }, seed: { type: 'string' } } });
const profiles = {
  short: { accounts: 12, clients: 8, loadSeconds: 90, faultEverySeconds: 5 },
  long: { accounts: 12, clients: 8, loadSeconds: 600, faultEverySeconds: 5 },
} as const;
const profileName = args.profile as keyof typeof profiles;
const profile = profiles[profileName];
if (!profile) throw new Error(`--profile must be short or long, not ${args.profile}`);
const seed = args.seed === undefined ? Date.now() % 2 ** 31 : Number(args.seed);
const initial = 10_000n;
const maxAttempts = 10;
const requestTimeoutMs = 5_000;

const began = Date.now();
const log = (line: string) => console.log(`[chaos ${((Date.now() - began) / 1000).toFixed(1).padStart(6)}s] ${line}`);

interface User {
  client: WalletClient;
  handle: string;
  account: string;
}

const history: History = { acked: new Map(), refused: new Set(), unknown: new Set() };
const counts = { attempted: 0, retries: 0, snapshots: 0, snapshotSkipped: 0, balanceReads: 0, balanceReadErrors: 0 };
const refusals = new Map<string, number>();
const violations: Violation[] = [];
const faults: FaultLog[] = [];
let stopLoad = false;

async function send(user: User, body: unknown, key: string): Promise<{ status: number; code?: string; id?: string } | 'retry'> {
  try {
    const response = await fetch(new URL('/v1/transfers', user.client.baseUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${user.client.token}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    const text = await response.text();
    let parsed: { id?: string; code?: string } = {};
    try {
      parsed = text ? (JSON.parse(text) as typeof parsed) : {};
    } catch {
      // a proxy error page: retried below
    }
    if (response.status === 401) {
      // The token expired (long profile) or the signing keys were not reachable: log in again, same key.
      await user.client.login(user.handle, 'correct horse battery').catch(() => undefined);
      return 'retry';
    }
    // 409: the same key is still being processed by an earlier attempt; 429: shed. Both retried.
    if (response.status >= 500 || response.status === 409 || response.status === 429) return 'retry';
    return { status: response.status, code: parsed.code, id: parsed.id };
  } catch {
    return 'retry'; // timeout or connection error
  }
}

async function client(users: User[], random: () => number): Promise<void> {
  while (!stopLoad) {
    const from = users[Math.floor(random() * users.length)]!;
    let to = users[Math.floor(random() * users.length)]!;
    if (to === from) to = users[(users.indexOf(from) + 1) % users.length]!;
    const amount = 1 + Math.floor(random() * 3000);
    const key = randomUUID();
    const body = { fromAccountId: from.account, to: { accountId: to.account }, amount: String(amount), currency: 'USD', description: key };
    counts.attempted++;
    let outcome: Awaited<ReturnType<typeof send>> = 'retry';
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) {
        counts.retries++;
        await sleep(Math.min(4000, 100 * 2 ** attempt) * (0.5 + random()));
      }
      outcome = await send(from, body, key);
      if (outcome !== 'retry') break;
    }
    if (outcome === 'retry') history.unknown.add(key);
    else if (outcome.status === 201 && outcome.id) history.acked.set(key, outcome.id);
    else if (outcome.status >= 400 && outcome.status < 500) {
      history.refused.add(key);
      const code = `${outcome.status} ${outcome.code ?? '?'}`;
      refusals.set(code, (refusals.get(code) ?? 0) + 1);
    } else {
      history.unknown.add(key);
      violations.push({ check: 'unexpected-status', detail: `${outcome.status} for key ${key}` });
    }
  }
}

async function snapshots(stack: Stack, operator: WalletClient, users: User[], deposited: bigint): Promise<void> {
  const accounts = users.map((u) => u.account);
  while (!stopLoad) {
    await sleep(2000);
    if (!(await portOpen(5432))) {
      counts.snapshotSkipped++;
      continue;
    }
    try {
      const found = await snapshotViolations(stack.infra!.db, accounts, deposited);
      counts.snapshots++;
      for (const v of found) violations.push({ ...v, detail: `snapshot ${counts.snapshots}: ${v.detail}` });
    } catch {
      counts.snapshotSkipped++; // PostgreSQL went down during the read
    }
    // The balance service is read too: it must answer with a non-negative posted balance.
    for (const user of users) {
      try {
        const r = await operator.balance(user.account);
        counts.balanceReads++;
        if (r.status === 401) await operator.loginClient(stack.operator.id, stack.operator.secret).catch(() => undefined);
        if (r.status !== 200) counts.balanceReadErrors++;
        else if (BigInt(r.body.posted as string) < 0n) violations.push({ check: 'negative', detail: `balance service: ${user.account} at ${String(r.body.posted)}` });
      } catch {
        counts.balanceReadErrors++;
      }
    }
  }
}

async function faultSchedule(stack: Stack, random: () => number): Promise<void> {
  // A seeded shuffle of a bag holding every kind (service kills twice), refilled when empty: every
  // kind of fault happens within any few faults, in a replayable order.
  const bag: FaultKind[] = [];
  while (!stopLoad) {
    await sleep(profile.faultEverySeconds * 1000 * (0.6 + 0.8 * random()));
    if (stopLoad) break;
    if (bag.length === 0) {
      bag.push('kill', 'kill', 'postgres', 'rabbitmq', 'redis');
      for (let i = bag.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [bag[i], bag[j]] = [bag[j]!, bag[i]!];
      }
    }
    const kind = bag.pop()!;
    try {
      const fault = await inject(kind, random, { processes: stack.processes!, redisUrl: stack.env!.REDIS_URL!, namespace: stack.infra!.namespace, log });
      faults.push(fault);
      log(`fault ${kind}${fault.target ? ` ${fault.target}` : ''}: back after ${(fault.recoveryMs / 1000).toFixed(1)} s`);
      // A service that died of the fault (instead of reconnecting) is a finding; it is revived.
      const revived = await reviveExited(stack.processes!);
      if (revived.length > 0) {
        violations.push({ check: 'no-recovery', detail: `after ${kind}: ${revived.join(', ')} exited and had to be restarted` });
        log(`after ${kind}: ${revived.join(', ')} had exited`);
      }
    } catch (error) {
      violations.push({ check: 'no-recovery', detail: `${kind}: ${String(error)}` });
      log(`fault ${kind} failed: ${String(error)}`);
    }
  }
}

async function main(): Promise<number> {
  log(`seed ${seed}, profile ${profileName} (replay with npm run test:chaos -- --profile ${profileName} --seed ${seed})`);
  await startPostgres();
  await startRabbit();
  const stack = await startRealStack();
  try {
    const operator = new WalletClient(stack.gatewayUrl);
    await operator.loginClient(stack.operator.id, stack.operator.secret);
    const users: User[] = [];
    const tag = randomUUID().slice(0, 6);
    for (let i = 0; i < profile.accounts; i++) {
      const client = new WalletClient(stack.gatewayUrl);
      const handle = `chaos_${tag}_${i}`;
      await client.signUp(handle, `Bank ${i}`);
      const account = await client.openAccount('USD');
      const d = await operator.deposit(account, initial.toString());
      if (d.status !== 201) throw new Error(`deposit: ${d.status} ${JSON.stringify(d.body)}`);
      users.push({ client, handle, account });
    }
    const deposited = initial * BigInt(profile.accounts);
    log(`${profile.accounts} accounts, ${deposited} deposited; ${profile.clients} clients for ${profile.loadSeconds} s, a fault every ~${profile.faultEverySeconds} s`);

    const random = rng(seed);
    const clientSeeds = Array.from({ length: profile.clients }, () => Math.floor(random() * 2 ** 31));
    const load = Promise.all([
      ...clientSeeds.map((s) => client(users, rng(s))),
      snapshots(stack, operator, users, deposited),
      faultSchedule(stack, rng(Math.floor(random() * 2 ** 31))),
    ]);
    await sleep(profile.loadSeconds * 1000);
    stopLoad = true;
    log('load stops; waiting for the clients and the last fault');
    await load;

    // Quiescence: infrastructure up, every service healthy, then the balance service must converge.
    await startPostgres();
    await startRabbit();
    await reviveExited(stack.processes!);
    const quiet = Date.now();
    await operator.loginClient(stack.operator.id, stack.operator.secret);
    const db = stack.infra!.db;
    // Nothing writes to the ledger any more: its balances are final, and the balance service must reach them.
    const ledger = await ledgerBalances(db);
    let converged = false;
    let mismatched: string[] = [];
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      mismatched = [];
      for (const account of ledger) {
        const r = await operator.balance(account.id).catch(() => undefined);
        const same = r?.status === 200 && r.body.posted === account.balance && r.body.pending === account.pending && r.body.sequence === account.sequence;
        if (!same) mismatched.push(`${account.id}: ledger ${account.balance}/${account.sequence}, balance service ${r ? `${r.status} ${String(r.body.posted)}/${String(r.body.sequence)}` : 'no answer'}`);
      }
      if (mismatched.length === 0) {
        converged = true;
        break;
      }
      await sleep(250);
    }
    const convergeSeconds = (Date.now() - quiet) / 1000;
    if (!converged) violations.push({ check: 'not-converged', detail: `${mismatched.length} balances differ after 120 s: ${mismatched.slice(0, 3).join('; ')}` });
    const final = await finalChecks(db, users.map((u) => u.account), deposited, history);
    violations.push(...final.violations);

    const byKind = Object.fromEntries(faultKinds.map((k) => [k, faults.filter((f) => f.kind === k).length]));
    const kills = Object.fromEntries(serviceNames.map((n) => [n, faults.filter((f) => f.target === n).length]));
    const line =
      `seed=${seed} profile=${profileName} transfers attempted=${counts.attempted} acknowledged=${history.acked.size} refused=${history.refused.size} unknown=${history.unknown.size} ` +
      `(unknown applied=${final.unknownApplied}) retries=${counts.retries} faults kill=${byKind.kill} postgres=${byKind.postgres} rabbitmq=${byKind.rabbitmq} redis=${byKind.redis} ` +
      `snapshots=${counts.snapshots} lost=${final.lost} duplicated=${final.duplicated} phantom=${final.phantom} unexpected=${final.unexpected} ` +
      `converged=${converged ? `${convergeSeconds.toFixed(1)}s` : 'no'} violations=${violations.length} duration=${((Date.now() - began) / 1000).toFixed(0)}s`;
    console.log(`\nRESULT ${line}\n`);
    console.log('Summary');
    console.log(`  ${counts.attempted} transfers attempted by ${profile.clients} clients over ${profile.accounts} accounts: ${history.acked.size} acknowledged, ${history.refused.size} refused, ${history.unknown.size} unknown (client gave up; ${final.unknownApplied} of them in the ledger, each once).`);
    console.log(`  refusals: ${[...refusals].map(([c, n]) => `${c} ×${n}`).join(', ') || 'none'}; ${counts.retries} retries with the same key.`);
    console.log(`  faults: ${faults.length} (service kills ${Object.entries(kills).map(([n, k]) => `${n} ${k}`).join(', ')}; PostgreSQL stops ${byKind.postgres}; RabbitMQ restarts ${byKind.rabbitmq}; Redis wipes ${byKind.redis}).`);
    const recoveries = faults.filter((f) => f.kind !== 'redis').map((f) => f.recoveryMs / 1000);
    if (recoveries.length > 0) console.log(`  recovery per fault: max ${Math.max(...recoveries).toFixed(1)} s, mean ${(recoveries.reduce((a, b) => a + b, 0) / recoveries.length).toFixed(1)} s.`);
    console.log(`  ${counts.snapshots} snapshot reads of the ledger (${counts.snapshotSkipped} skipped while PostgreSQL was down), ${counts.balanceReads} balance-service reads (${counts.balanceReadErrors} errors).`);
    console.log(`  lost ${final.lost}, duplicated ${final.duplicated}, phantom ${final.phantom}, unexpected ${final.unexpected}; balance service ${converged ? `equal to the ledger ${convergeSeconds.toFixed(1)} s after quiescence` : 'NOT equal to the ledger'}.`);
    if (violations.length > 0) {
      console.log(`\n${violations.length} violation(s):`);
      for (const v of violations.slice(0, 40)) console.log(`  ${v.check}: ${v.detail}`);
      console.log(`\nFAILED — replay with: npm run test:chaos -- --profile ${profileName} --seed ${seed}`);
      return 1;
    }
    console.log('\nPASSED');
    return 0;
  } finally {
    stopLoad = true;
    await startPostgres().catch((e: unknown) => log(`PostgreSQL: ${String(e)}`));
    await startRabbit().catch((e: unknown) => log(`RabbitMQ: ${String(e)}`));
    await stack.stop().catch((e: unknown) => log(`stop: ${String(e)}`));
  }
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error(error);
    console.error(`FAILED — replay with: npm run test:chaos -- --profile ${profileName} --seed ${seed}`);
    await startPostgres().catch(() => undefined);
    await startRabbit().catch(() => undefined);
    process.exit(1);
  },
);
