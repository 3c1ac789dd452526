// Model-based test: random sequences of deposits, transfers, holds (posts, voids, expiries),
// reversals, batches and idempotent retries against the real ledger (support/ledger-stack.ts), and
// a small in-memory model of what each should do. After every step the response must be the one
// the model predicts, the model and the ledger must agree on every account, hold and transfer, each
// currency must sum to zero, and a refused step must have changed nothing.
// MODEL_SEED (and MODEL_PATH, from a failure report) replay a run; MODEL_RUNS runs more.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { eventually, needsInfra } from '@wallet/testkit';
import { startLedgerStack, type LedgerStack } from './support/ledger-stack.ts';

const options = await needsInfra();

// Responses are read field by field, as a client would.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = any;

// ---- The generated steps. Numbers that pick a hold, transfer or earlier request are taken modulo
// the list at run time, so every shrunk sequence still means something.

type AmountMode = 'all' | 'exact' | 'part' | 'over';
interface BatchItem {
  fromEur: boolean;
  to: number;
  amount: number;
  wrongCurrency: boolean;
}
type Step =
  | { t: 'deposit'; to: number; amount: number; wrongCurrency: boolean }
  | { t: 'transfer'; from: number; to: number; amount: number; wrongCurrency: boolean }
  | { t: 'hold'; from: number; to: number; amount: number; wrongCurrency: boolean; short: boolean }
  | { t: 'post'; hold: number; pendingOnly: boolean; mode: AmountMode; n: number; by: 'payer' | 'payee' | 'operator' }
  | { t: 'void'; hold: number; pendingOnly: boolean; by: 'payee' | 'operator' }
  | { t: 'expire'; hold: number }
  | { t: 'reverse'; transfer: number; reversibleOnly: boolean; mode: AmountMode; n: number; byOperator: boolean }
  | { t: 'batch'; by: number; atomic: boolean; items: BatchItem[] }
  | { t: 'retry'; request: number }
  | { t: 'reuse'; request: number; how: 'body' | 'other-route' | 'extend' };

const USERS = 4; // accounts 0–3: USD, one per user; account 4: EUR, also user 0's
const EUR = 4;
const usd = fc.integer({ min: 0, max: USERS - 1 });
const rarely = fc.integer({ min: 0, max: 9 }).map((n) => n === 0);
const often = fc.integer({ min: 0, max: 9 }).map((n) => n < 7);
const pick = fc.nat(1000);
const mode = fc.constantFrom<AmountMode>('all', 'exact', 'part', 'part', 'over');
// Mostly two different users' USD accounts, so that most steps can succeed; now and then the same
// account (offset 0) or the EUR one, for same_account and currency_mismatch.
const other = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: USERS - 1 }) }, { weight: 1, arbitrary: fc.constantFrom(0, EUR) });
const pair = fc.oneof(
  { weight: 9, arbitrary: fc.tuple(usd, other).map(([from, d]) => ({ from, to: d === EUR ? EUR : (from + d) % USERS })) },
  { weight: 1, arbitrary: fc.tuple(fc.constant(EUR), usd).map(([from, to]) => ({ from, to })) },
);

const deposit = fc.record({ t: fc.constant('deposit' as const), to: fc.integer({ min: 0, max: EUR }), amount: fc.integer({ min: 1, max: 1000 }), wrongCurrency: rarely });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: deposit },
  { weight: 4, arbitrary: fc.tuple(pair, fc.integer({ min: 1, max: 400 }), rarely).map(([p, amount, wrongCurrency]) => ({ t: 'transfer' as const, ...p, amount, wrongCurrency })) },
  {
    weight: 5,
    arbitrary: fc
      .tuple(pair, fc.integer({ min: 1, max: 400 }), rarely, fc.integer({ min: 0, max: 2 }))
      .map(([p, amount, wrongCurrency, s]) => ({ t: 'hold' as const, ...p, amount, wrongCurrency, short: s === 0 })),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('post' as const), hold: pick, pendingOnly: often, mode, n: pick, by: fc.constantFrom('payer' as const, 'payee' as const, 'operator' as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('void' as const), hold: pick, pendingOnly: often, by: fc.constantFrom('payee' as const, 'operator' as const) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('expire' as const), hold: pick }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('reverse' as const), transfer: pick, reversibleOnly: often, mode, n: pick, byOperator: rarely }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(usd, fc.boolean(), fc.array(fc.tuple(rarely, other, fc.integer({ min: 1, max: 300 }), rarely), { minLength: 1, maxLength: 4 }))
      .map(([by, atomic, items]) => ({
        t: 'batch' as const,
        by,
        atomic,
        items: items.map(([fromEur, d, amount, wrongCurrency]) => ({ fromEur, to: d === EUR ? EUR : (by + d) % USERS, amount, wrongCurrency })),
      })),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('retry' as const), request: pick }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('reuse' as const), request: pick, how: fc.constantFrom('body' as const, 'other-route' as const, 'extend' as const) }) },
);
// Each USD account funded first, so money has somewhere to come from.
const funding = fc.array(fc.integer({ min: 200, max: 2000 }), { minLength: USERS, maxLength: USERS }).map((amounts) =>
  amounts.map((amount, to): Step => ({ t: 'deposit', to, amount, wrongCurrency: false })),
);
const steps = fc.tuple(funding, fc.array(step, { maxLength: 28, size: 'max' })).map(([first, rest]) => [...first, ...rest]);

// ---- The model.

interface Account {
  label: string;
  id: string;
  owner: number;
  currency: string;
  balance: bigint;
  pending: bigint;
}
type HoldStatus = 'pending' | 'posted' | 'voided' | 'expired';
interface Hold {
  label: string;
  id: string;
  from: Account;
  to: Account;
  amount: bigint;
  status: HoldStatus;
  posted: bigint;
  /** Only for short holds (the others outlive the test). */
  expiresAt: number | null;
}
interface Transfer {
  label: string;
  id: string;
  kind: 'transfer' | 'deposit' | 'capture' | 'reversal';
  /** null: the currency's settlement account, which the model does not track (totals cover it). */
  from: Account | null;
  to: Account | null;
  amount: bigint;
  reversed: bigint;
  currency: string;
}
interface Sent {
  label: string;
  token: string;
  url: string;
  body: Body;
  key: string;
  status: number;
  response: Body;
}
interface User {
  label: string;
  token: string;
  subject: string;
}

const statusOf: Record<string, number> = { hold_not_pending: 409 };
const problemStatus = (code: string) => statusOf[code] ?? 422;
const otherCurrency = (c: string) => (c === 'USD' ? 'EUR' : 'USD');
const available = (a: Account) => a.balance - a.pending;

/** Why `amount` may not move from `from` to `to` (null: a settlement account); undefined when it may. */
function refusalOfMove(from: Account | null, to: Account | null, amount: bigint, currency: string): string | undefined {
  if (from && from === to) return 'same_account';
  if ((from && from.currency !== currency) || (to && to.currency !== currency)) return 'currency_mismatch';
  if (from && amount > available(from)) return 'insufficient_funds';
  return undefined;
}

function move(from: Account | null, to: Account | null, amount: bigint) {
  if (from) from.balance -= amount;
  if (to) to.balance += amount;
}

/** An amount for a post or reversal: absent (all), exactly `whole`, part of it, or more than `limit`. */
function amountFor(m: AmountMode, n: number, whole: bigint, limit: bigint): bigint | undefined {
  if (m === 'all') return undefined;
  if (m === 'exact') return whole;
  if (m === 'part') return 1n + (BigInt(n) % whole);
  return limit + 1n + BigInt(n % 50);
}

// ---- One run: fresh accounts and users on the shared stack, then the steps.

const EXPIRY_MARGIN_MS = 400; // a short hold this close to its time is waited out, never raced

class Run {
  readonly users: User[] = [];
  readonly accounts: Account[] = [];
  readonly holds: Hold[] = [];
  readonly transfers: Transfer[] = [];
  readonly sent: Sent[] = [];
  readonly trace: string[] = [];
  /** What the steps exercised, e.g. "post hold_amount_exceeded", for the coverage summary. */
  readonly seen: string[] = [];
  private keys = 0;
  private readonly prefix = randomUUID();

  constructor(
    readonly stack: LedgerStack,
    readonly operator: User,
  ) {}

  async open() {
    for (let i = 0; i < USERS; i++) {
      const subject = randomUUID();
      this.users.push({ label: `user${i}`, token: await this.stack.issuer.userToken(subject), subject });
      this.accounts.push({ label: `usd${i}`, id: this.stack.openAccount(subject, 'USD').id, owner: i, currency: 'USD', balance: 0n, pending: 0n });
    }
    const eur = this.stack.openAccount(this.users[0]!.subject, 'EUR');
    this.accounts.push({ label: 'eur0', id: eur.id, owner: 0, currency: 'EUR', balance: 0n, pending: 0n });
  }

  /** Sends a POST with a fresh key; remembers it (with its answer) for later retries. */
  async post(by: User, url: string, body: Body, label: string) {
    const key = `${this.prefix}-${++this.keys}`;
    const res = await this.stack.call('POST', url, by.token, body, key);
    this.sent.push({ label: `${label} by ${by.label}`, token: by.token, url, body, key, status: res.status, response: res.body });
    return res;
  }

  /** Holds whose timeout is (nearly) up are waited out until the service has expired them. */
  async settleExpiries(force?: Hold) {
    for (const h of this.holds) {
      if (h.status !== 'pending' || h.expiresAt === null) continue;
      if (h !== force && h.expiresAt > Date.now() + EXPIRY_MARGIN_MS) continue;
      const status = await eventually(
        async () => {
          const res = await this.stack.call('GET', `/v1/holds/${h.id}`, this.operator.token);
          return res.body.status === 'pending' ? undefined : (res.body.status as string);
        },
        10_000,
        `${h.label} to expire`,
      );
      assert.equal(status, 'expired', `${h.label} left pending as ${status}, not expired`);
      h.status = 'expired';
      h.from.pending -= h.amount;
      this.trace.push(`  (${h.label} expired)`);
      this.seen.push('hold expired');
    }
  }

  /** What the model says the ledger holds for this run's accounts. */
  modelView() {
    return {
      accounts: Object.fromEntries(this.accounts.map((a) => [a.label, `${a.balance} (pending ${a.pending})`])),
      holds: Object.fromEntries(this.holds.map((h) => [h.label, `${h.status} ${h.posted} of ${h.amount}`])),
      transfers: Object.fromEntries(this.transfers.map((t) => [t.label, `${t.kind} ${t.amount}, reversed ${t.reversed}`])),
    };
  }

  /** The same, read from the ledger: every hold and transfer touching the run's accounts. */
  async ledgerView() {
    const { stack } = this;
    const ids = this.accounts.map((a) => a.id);
    const label = (id: string, known: { id: string; label: string }[]) => known.find((x) => x.id === id)?.label ?? `unexpected ${id}`;
    const [balances, holds, transfers] = await Promise.all([
      Promise.all(this.accounts.map(async (a) => [a.label, `${(await stack.balanceOf(a.id)) ?? 0n} (pending ${(await stack.pendingOf(a.id)) ?? 0n})`])),
      stack.infra.db.query<{ id: string; status: string; amount: bigint; posted_amount: bigint }>(
        'SELECT id, status, amount, posted_amount FROM ledger.holds WHERE from_account_id = ANY($1::uuid[]) OR to_account_id = ANY($1::uuid[])',
        [ids],
      ),
      stack.infra.db.query<{ id: string; kind: string; amount: bigint; reversed_amount: bigint }>(
        'SELECT id, kind, amount, reversed_amount FROM ledger.transfers WHERE from_account_id = ANY($1::uuid[]) OR to_account_id = ANY($1::uuid[])',
        [ids],
      ),
    ]);
    const sorted = <T>(entries: [string, T][], order: { label: string }[]) =>
      Object.fromEntries(entries.sort(([a], [b]) => order.findIndex((x) => x.label === a) - order.findIndex((x) => x.label === b)));
    return {
      accounts: Object.fromEntries(balances),
      holds: sorted(holds.rows.map((r) => [label(r.id, this.holds), `${r.status} ${r.posted_amount} of ${r.amount}`]), this.holds),
      transfers: sorted(transfers.rows.map((r) => [label(r.id, this.transfers), `${r.kind} ${r.amount}, reversed ${r.reversed_amount}`]), this.transfers),
    };
  }

  /** Mostly a hold that can still change; otherwise any, to see the refusals. */
  pickHold(n: number, pendingOnly: boolean): Hold | undefined {
    const pending = this.holds.filter((h) => h.status === 'pending');
    const from = pendingOnly && pending.length > 0 ? pending : this.holds;
    return from[n % from.length];
  }

  pickTransfer(n: number, reversibleOnly: boolean): Transfer | undefined {
    // Payments between users first: deposits are plenty, and only operators reverse them.
    const reversible = this.transfers.filter((t) => t.kind !== 'reversal' && t.reversed < t.amount);
    const payments = reversible.filter((t) => t.kind !== 'deposit');
    const from = !reversibleOnly ? this.transfers : payments.length > 0 ? payments : reversible.length > 0 ? reversible : this.transfers;
    return from[n % from.length];
  }

  addTransfer(id: string, fields: Omit<Transfer, 'label' | 'id' | 'reversed'>) {
    const t: Transfer = { label: `t${this.transfers.length}`, id, reversed: 0n, ...fields };
    this.transfers.push(t);
    return t;
  }
}

/** The response is the refusal `code`, or success with `ok` status. */
function expectOutcome(res: { status: number; body: Body }, code: string | undefined, ok: number, what = '') {
  const got = `${res.status} ${res.body?.code ?? ''}`.trim();
  if (code) {
    assert.equal(got, `${problemStatus(code)} ${code}`, `${what} expected ${code}: ${JSON.stringify(res.body)}`);
  } else {
    assert.equal(res.status, ok, `${what} expected ${ok}: ${JSON.stringify(res.body)}`);
  }
}

/** A refusal for want of money says how much is available. */
function expectAvailable(res: { body: Body }, code: string | undefined, from: Account | null) {
  if (code === 'insufficient_funds' && from) assert.equal(res.body.available, String(available(from)), 'available');
}

/** Runs one step against the service and the model; `unchanged`: the model says nothing may change. */
async function perform(run: Run, s: Step): Promise<{ unchanged: boolean; note: string }> {
  const { accounts, users, operator } = run;
  const ownerOf = (a: Account) => users[a.owner]!;
  switch (s.t) {
    case 'deposit': {
      const to = accounts[s.to]!;
      const currency = s.wrongCurrency ? otherCurrency(to.currency) : to.currency;
      const amount = BigInt(s.amount);
      const code = refusalOfMove(null, to, amount, currency);
      const res = await run.post(operator, '/v1/deposits', { accountId: to.id, amount: String(amount), currency }, `deposit ${amount} ${currency} to ${to.label}`);
      expectOutcome(res, code, 201);
      if (!code) {
        move(null, to, amount);
        const t = run.addTransfer(res.body.id, { kind: 'deposit', from: null, to, amount, currency });
        assert.equal(res.body.kind, 'deposit');
        run.seen.push('deposit ok');
        return { unchanged: false, note: `${t.label}: deposit ${amount} ${currency} to ${to.label}` };
      }
      run.seen.push(`deposit ${code}`);
      return { unchanged: true, note: `deposit ${amount} ${currency} to ${to.label}: ${code}` };
    }

    case 'transfer': {
      const from = accounts[s.from]!;
      const to = accounts[s.to]!;
      const currency = s.wrongCurrency ? otherCurrency(from.currency) : from.currency;
      const amount = BigInt(s.amount);
      const code = refusalOfMove(from, to, amount, currency);
      const body = { fromAccountId: from.id, to: { accountId: to.id }, amount: String(amount), currency };
      const res = await run.post(ownerOf(from), '/v1/transfers', body, `transfer ${amount} ${currency} ${from.label} → ${to.label}`);
      expectOutcome(res, code, 201);
      expectAvailable(res, code, from);
      run.seen.push(`transfer ${code ?? 'ok'}`);
      if (code) return { unchanged: true, note: `transfer ${amount} ${currency} ${from.label} → ${to.label}: ${code}` };
      move(from, to, amount);
      const t = run.addTransfer(res.body.id, { kind: 'transfer', from, to, amount, currency });
      assert.equal(res.body.source.balanceAfter, String(from.balance), 'source.balanceAfter');
      return { unchanged: false, note: `${t.label}: transfer ${amount} ${currency} ${from.label} → ${to.label}` };
    }

    case 'hold': {
      const from = accounts[s.from]!;
      const to = accounts[s.to]!;
      const currency = s.wrongCurrency ? otherCurrency(from.currency) : from.currency;
      const amount = BigInt(s.amount);
      const code = refusalOfMove(from, to, amount, currency);
      const body = { fromAccountId: from.id, to: { accountId: to.id }, amount: String(amount), currency, ...(s.short ? { timeoutSeconds: 1 } : {}) };
      const what = `${s.short ? 'short ' : ''}hold ${amount} ${currency} ${from.label} → ${to.label}`;
      const res = await run.post(ownerOf(from), '/v1/holds', body, what);
      expectOutcome(res, code, 201);
      expectAvailable(res, code, from);
      run.seen.push(`${s.short ? 'short ' : ''}hold ${code ?? 'ok'}`);
      if (code) return { unchanged: true, note: `${what}: ${code}` };
      assert.equal(res.body.status, 'pending');
      from.pending += amount;
      const h: Hold = { label: `h${run.holds.length}`, id: res.body.id, from, to, amount, status: 'pending', posted: 0n, expiresAt: s.short ? Date.parse(res.body.expiresAt) : null };
      run.holds.push(h);
      return { unchanged: false, note: `${h.label}: ${what}` };
    }

    case 'post': {
      const h = run.pickHold(s.hold, s.pendingOnly);
      if (!h) return { unchanged: true, note: 'post: no hold yet' };
      const amount = amountFor(s.mode, s.n, h.amount, h.amount);
      const by = s.by === 'operator' ? operator : ownerOf(s.by === 'payer' ? h.from : h.to);
      const code = h.status !== 'pending' ? 'hold_not_pending' : amount !== undefined && amount > h.amount ? 'hold_amount_exceeded' : undefined;
      const what = `post ${amount ?? 'all'} of ${h.label} (${h.status} ${h.amount})`;
      const res = await run.post(by, `/v1/holds/${h.id}/post`, amount === undefined ? {} : { amount: String(amount) }, what);
      expectOutcome(res, code, 200);
      if (code === 'hold_not_pending') assert.equal(res.body.holdStatus, h.status, 'holdStatus');
      if (code === 'hold_amount_exceeded') assert.equal(res.body.amount, String(h.amount), 'the hold amount');
      run.seen.push(`post ${s.mode} ${code ?? 'ok'}`);
      if (code) return { unchanged: true, note: `${what} by ${by.label}: ${code}` };
      const captured = amount ?? h.amount;
      assert.equal(res.body.status, 'posted');
      assert.equal(res.body.postedAmount, String(captured));
      h.from.pending -= h.amount;
      move(h.from, h.to, captured);
      h.status = 'posted';
      h.posted = captured;
      const t = run.addTransfer(res.body.transferId, { kind: 'capture', from: h.from, to: h.to, amount: captured, currency: h.from.currency });
      return { unchanged: false, note: `${t.label}: ${what} by ${by.label}` };
    }

    case 'void': {
      const h = run.pickHold(s.hold, s.pendingOnly);
      if (!h) return { unchanged: true, note: 'void: no hold yet' };
      const by = s.by === 'operator' ? operator : ownerOf(h.to);
      const code = h.status !== 'pending' ? 'hold_not_pending' : undefined;
      const what = `void ${h.label} (${h.status} ${h.amount})`;
      const res = await run.post(by, `/v1/holds/${h.id}/void`, {}, what);
      expectOutcome(res, code, 200);
      run.seen.push(`void ${code ?? 'ok'}`);
      if (code) {
        assert.equal(res.body.holdStatus, h.status, 'holdStatus');
        return { unchanged: true, note: `${what} by ${by.label}: ${code}` };
      }
      assert.equal(res.body.status, 'voided');
      h.from.pending -= h.amount;
      h.status = 'voided';
      return { unchanged: false, note: `${what} by ${by.label}` };
    }

    case 'expire': {
      const short = run.holds.filter((h) => h.status === 'pending' && h.expiresAt !== null);
      const h = short[s.hold % short.length];
      if (!h) return { unchanged: true, note: 'expire: no pending short hold' };
      await run.settleExpiries(h);
      run.seen.push('expire ok');
      return { unchanged: false, note: `wait for ${h.label} to expire` };
    }

    case 'reverse': {
      const t = run.pickTransfer(s.transfer, s.reversibleOnly);
      if (!t) return { unchanged: true, note: 'reverse: no transfer yet' };
      const remaining = t.amount - t.reversed;
      const amount = amountFor(s.mode, s.n, t.amount, remaining);
      // Receivers reverse what they received from people; the rest (deposits, reversals) is operators'.
      const receiverMay = t.to !== null && (t.kind === 'transfer' || t.kind === 'capture');
      const by = s.byOperator || !receiverMay ? operator : ownerOf(t.to!);
      const requested = amount ?? remaining;
      const code =
        t.kind === 'reversal'
          ? 'transfer_not_reversible'
          : remaining === 0n || requested > remaining
            ? 'reversal_amount_exceeded'
            : refusalOfMove(t.to, t.from, requested, t.currency);
      const what = `reverse ${amount ?? 'rest'} of ${t.label} (${t.kind} ${t.amount}, reversed ${t.reversed})`;
      const res = await run.post(by, `/v1/transfers/${t.id}/reversals`, amount === undefined ? {} : { amount: String(amount) }, what);
      expectOutcome(res, code, 201);
      if (code === 'reversal_amount_exceeded') assert.equal(res.body.remaining, String(remaining), 'remaining');
      expectAvailable(res, code, t.to);
      run.seen.push(`reverse ${t.kind} ${s.mode} ${code ?? 'ok'}`);
      if (code) return { unchanged: true, note: `${what} by ${by.label}: ${code}` };
      assert.equal(res.body.kind, 'reversal');
      assert.equal(res.body.amount, String(requested));
      assert.equal(res.body.reversalOf, t.id);
      move(t.to, t.from, requested);
      t.reversed += requested;
      const r = run.addTransfer(res.body.id, { kind: 'reversal', from: t.to, to: t.from, amount: requested, currency: t.currency });
      return { unchanged: false, note: `${r.label}: ${what} by ${by.label}` };
    }

    case 'batch': {
      const by = users[s.by]!;
      const items = s.items.map((i) => {
        const from = accounts[i.fromEur && s.by === 0 ? EUR : s.by]!;
        return { from, to: accounts[i.to]!, amount: BigInt(i.amount), currency: i.wrongCurrency ? otherCurrency(from.currency) : from.currency };
      });
      // Decided in order against the running balances; atomic: the first refusal undoes the rest.
      const saved = accounts.map((a) => ({ ...a }));
      const expected: (string | undefined)[] = [];
      for (const [index, i] of items.entries()) {
        const code = refusalOfMove(i.from, i.to, i.amount, i.currency);
        expected.push(code);
        if (!code) move(i.from, i.to, i.amount);
        else if (s.atomic) {
          accounts.forEach((a, k) => Object.assign(a, saved[k]));
          expected.splice(0, expected.length, ...items.map((_, k) => (k === index ? code : 'linked_transfer_failed')));
          break;
        }
      }
      const body = { atomic: s.atomic, transfers: items.map((i) => ({ fromAccountId: i.from.id, to: { accountId: i.to.id }, amount: String(i.amount), currency: i.currency })) };
      const what = `${s.atomic ? 'atomic ' : ''}batch [${items.map((i, k) => `${i.amount} ${i.currency} ${i.from.label} → ${i.to.label}: ${expected[k] ?? 'ok'}`).join('; ')}]`;
      const res = await run.post(by, '/v1/transfers/batch', body, what);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const got = res.body.results.map((r: Body) => (r.status === 201 ? 'ok' : `${r.status} ${r.error?.code}`));
      assert.deepEqual(got, expected.map((c) => (c ? `${problemStatus(c)} ${c}` : 'ok')), `batch results: ${JSON.stringify(res.body.results)}`);
      const refusedAt = expected.findIndex((c) => c && c !== 'linked_transfer_failed');
      if (s.atomic && refusedAt >= 0) for (const r of res.body.results) if (r.error.code === 'linked_transfer_failed') assert.equal(r.error.index, refusedAt);
      for (const c of expected) run.seen.push(`${s.atomic ? 'atomic ' : ''}batch item ${c ?? 'ok'}`);
      const labels: string[] = [];
      items.forEach((i, k) => {
        if (!expected[k]) labels.push(run.addTransfer(res.body.results[k].transfer.id, { kind: 'transfer', from: i.from, to: i.to, amount: i.amount, currency: i.currency }).label);
      });
      return { unchanged: labels.length === 0, note: `${labels.join(', ')}${labels.length ? ': ' : ''}${what} by ${by.label}` };
    }

    case 'retry': {
      const r = run.sent[s.request % run.sent.length];
      if (!r) return { unchanged: true, note: 'retry: nothing sent yet' };
      const res = await run.stack.call('POST', r.url, r.token, r.body, r.key);
      assert.equal(res.status, r.status, `retry of ${r.label}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(res.body, r.response, `retry of ${r.label} answers as the first time`);
      assert.equal(res.headers['idempotent-replayed'], 'true', `retry of ${r.label} is marked replayed`);
      run.seen.push(`retry ${r.status < 300 ? 'of a success' : 'of a refusal'}`);
      return { unchanged: true, note: `retry ${r.label} → ${r.status} (replayed)` };
    }

    case 'reuse': {
      const r = run.sent[s.request % run.sent.length];
      if (!r) return { unchanged: true, note: 'reuse: nothing sent yet' };
      const [url, body] = differentRequest(run, r, s.how);
      const what = `the key of "${r.label}" reused for POST ${url.replace(/[0-9a-f-]{36}/, ':id')} ${JSON.stringify(body)}:`;
      const res = await run.stack.call('POST', url, r.token, body, r.key);
      expectOutcome(res, 'idempotency_key_reused', 0, what);
      run.seen.push(`reuse ${s.how}`);
      return { unchanged: true, note: `${what} idempotency_key_reused` };
    }
  }
}

/** A valid request the same caller could make, different from `r`: another body, route, or a longer batch. */
function differentRequest(run: Run, r: Sent, how: 'body' | 'other-route' | 'extend'): [string, Body] {
  const isBatch = r.url === '/v1/transfers/batch';
  const bump = (amount: string) => String(BigInt(amount) + 1n);
  // A one-unit transfer this caller may send: an operator from usd0, a user from their USD account.
  const userIndex = run.users.findIndex((u) => u.token === r.token);
  const from = run.accounts[Math.max(userIndex, 0)]!;
  const single = { fromAccountId: from.id, to: { accountId: run.accounts[(Math.max(userIndex, 0) + 1) % USERS]!.id }, amount: '1', currency: 'USD' };
  if (how === 'other-route') return isBatch ? ['/v1/transfers', single] : ['/v1/transfers/batch', { atomic: false, transfers: [single] }];
  if (isBatch) {
    const [first, ...rest] = r.body.transfers;
    if (how === 'extend') return [r.url, { ...r.body, transfers: [...r.body.transfers, single] }];
    return [r.url, { ...r.body, transfers: [{ ...first, amount: bump(first.amount) }, ...rest] }];
  }
  if (r.url.endsWith('/void')) return [r.url.replace(/\/void$/, '/post'), {}];
  return [r.url, r.body.amount === undefined ? { ...r.body, amount: '1' } : { ...r.body, amount: bump(r.body.amount) }];
}

async function check(run: Run, stepIndex: number) {
  assert.deepEqual(await run.ledgerView(), run.modelView(), `after step ${stepIndex}: the ledger and the model disagree`);
  for (const { currency, total } of await run.stack.totals()) assert.equal(total, 0n, `after step ${stepIndex}: ${currency} balances sum to ${total}`);
}

describe('transaction service (model-based)', options, () => {
  let stack: LedgerStack;
  let operator: User;

  before(async () => {
    stack = await startLedgerStack({ HOLD_EXPIRY_INTERVAL_MS: '100' });
    operator = { label: 'operator', token: stack.operator, subject: 'operator' };
  });
  after(async () => {
    await stack?.stop();
  });

  test('random operations: the ledger answers and balances as the model says', async (t) => {
    const seed = process.env.MODEL_SEED ? Number(process.env.MODEL_SEED) : (Date.now() ^ (Math.random() * 0x100000000)) | 0;
    const path = process.env.MODEL_PATH;
    const numRuns = Number(process.env.MODEL_RUNS ?? 25);
    const started = Date.now();
    t.diagnostic(`MODEL_SEED=${seed}`);
    let runs = 0;
    let stepsRun = 0;
    const seen = new Map<string, number>();

    const property = fc.asyncProperty(steps, async (sequence) => {
      runs++;
      const run = new Run(stack, operator);
      await run.open();
      let i = 0;
      try {
        for (; i < sequence.length; i++) {
          await run.settleExpiries();
          const before = await run.ledgerView();
          const { unchanged, note } = await perform(run, sequence[i]!);
          run.trace.push(`${i}: ${note}`);
          if (unchanged) assert.deepEqual(await run.ledgerView(), before, `step ${i} was refused but changed the ledger`);
          await run.settleExpiries();
          await check(run, i);
          stepsRun++;
        }
        for (const what of run.seen) seen.set(what, (seen.get(what) ?? 0) + 1);
      } catch (error) {
        run.trace.push(`step ${i} failed: ${JSON.stringify(sequence[i])}`);
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(`${message}\n--- trace (MODEL_SEED=${seed}) ---\n${run.trace.join('\n')}`, { cause: error });
      }
    });

    try {
      await fc.assert(property, {
        seed,
        numRuns,
        includeErrorInReport: true,
        ...(path ? { path, endOnFailure: true } : {}),
        // Shrinking replays sequences against the service; stop it after a while and report what it has.
        plugins: [fc.interruptAfterTimeLimit(60_000)],
      });
    } finally {
      t.diagnostic(`${runs} runs, ${stepsRun} steps in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      t.diagnostic(`seen: ${[...seen].sort().map(([what, n]) => `${what} ×${n}`).join(', ')}`);
    }
  });
});
