// One group of units in ONE PostgreSQL transaction: claim the idempotency keys, lock the accounts in
// id order, then read the holds and reversed transfers (every change to those holds their accounts'
// locks), count policy usage, decide each item against the group's running state, and write it all
// in one statement. Each result is exactly what one-at-a-time processing would give.
import { randomUUID } from 'node:crypto';
import { problemBody, ProblemError, type EventEnvelope, type Queryable, type Settled, type TraceCarrier } from '@wallet/kit';
import type { TransactionRejected } from '@wallet/contracts';
import { decideHold, decidePost, decideRelease, isExpired, type LedgerHold } from '../domain/hold.ts';
import { addUsage, checkPolicy, needsPayeeCheck, needsUsage, noUsage, usageWindowSeconds, type Policy, type Usage } from '../domain/policy.ts';
import { decideReversal } from '../domain/reversal.ts';
import { afterPosting, decideTransfer, type LedgerAccount, type Posting, type Refusal } from '../domain/transfer.ts';
import { knownPayees, lockHolds, lockReversalTargets, usageOf, type ReversalTarget } from '../store/hold-store.ts';
import { claimIdempotency, findIdempotency, lockAccounts, writeGroup, type EntryRecord, type IdempotencyKey, type IdempotencyRecord, type TransferRecord } from '../store/ledger-store.ts';
import type { Command, Resolved } from './commands.ts';
import { holdChanged, holdJson, transactionCreated, transactionRejected, transferJson } from './json.ts';

export interface Outcome {
  status: number;
  body: unknown;
  replayed: boolean;
}

/** An idempotency key with the fingerprint of the request it was sent with. */
export interface KeyClaim extends IdempotencyKey {
  fingerprint: string;
}

/**
 * What one request submits, under one idempotency key: one item, or a batch of transfers (whose
 * outcome is stored as one record, so the key means the whole batch). Expiries have no key.
 */
export interface Unit {
  key?: KeyClaim;
  items: Resolved[];
  atomic: boolean;
  batch: boolean;
  /** The submitting request's trace: the unit's events carry it (the group commit serves many). */
  trace?: TraceCarrier;
}

type Verdict = { status: number; body: unknown } | Refusal;

export const claimOf = (c: Command): KeyClaim => ({ caller: c.caller.subject, key: c.idempotencyKey, fingerprint: c.fingerprint });
const keyId = (k: IdempotencyKey) => `${k.caller}\n${k.key}`;
const pairId = (from: string, to: string) => `${from}\n${to}`;

/** A batch is stored as its items' outcomes, in order. */
type StoredBatch = { status: number; body: unknown }[];

/** What a unit's key already holds: the stored outcome of each item, or why there is none to give. */
export function replay(key: KeyClaim, batch: boolean, count: number, stored: IdempotencyRecord | undefined): Settled<Outcome>[] {
  const all = (error: ProblemError) => Array.from({ length: count }, () => ({ ok: false as const, error }));
  if (!stored || stored.status === 0) return all(new ProblemError('idempotency_request_in_progress'));
  if (stored.fingerprint !== key.fingerprint) {
    return all(new ProblemError('idempotency_key_reused', `Idempotency-Key "${key.key}" was used with a different request`));
  }
  const outcomes = batch ? (stored.body as StoredBatch) : [{ status: stored.status, body: stored.body }];
  return outcomes.map((o) => ({ ok: true, value: { ...o, replayed: true } }));
}

/** The group's running state: what the database held under lock, plus every decision so far. */
class Group {
  readonly transfers: TransferRecord[] = [];
  readonly entries: EntryRecord[] = [];
  readonly events: EventEnvelope[] = [];
  readonly holdsCreated: LedgerHold[] = [];
  readonly holdsFinished = new Map<string, LedgerHold>();
  readonly reversed = new Map<string, bigint>();

  readonly now: Date;
  readonly policy: Policy;
  accounts: Map<string, LedgerAccount>;
  readonly holds: Map<string, LedgerHold>;
  readonly targets: Map<string, ReversalTarget>;
  usage: Map<string, Usage>;
  payees: Set<string>;

  // Plain fields, not parameter properties: Node's type stripping runs this file as is.
  constructor(now: Date, policy: Policy, accounts: Map<string, LedgerAccount>, holds: Map<string, LedgerHold>, targets: Map<string, ReversalTarget>, usage: Map<string, Usage>, payees: Set<string>) {
    this.now = now;
    this.policy = policy;
    this.accounts = accounts;
    this.holds = holds;
    this.targets = targets;
    this.usage = usage;
    this.payees = payees;
  }

  account(id: string): LedgerAccount {
    const account = this.accounts.get(id);
    if (!account) throw new Error(`account ${id} is not in the ledger`);
    return account;
  }

  post(movementId: string, currency: string, postings: readonly Posting[]) {
    for (const p of postings) {
      this.accounts.set(p.accountId, afterPosting(this.account(p.accountId), p));
      this.entries.push({ ...p, transferId: movementId, currency, createdAt: this.now });
    }
  }

  /** The policy's verdict on a payment out of `from`; undefined when it may go. */
  checkPolicy(from: LedgerAccount, to: LedgerAccount, amount: bigint): Refusal | undefined {
    return checkPolicy(this.policy, from, to, amount, this.usage.get(from.id) ?? noUsage(), !this.payees.has(pairId(from.id, to.id)));
  }

  spent(from: string, amount: bigint) {
    this.usage.set(from, addUsage(this.usage.get(from) ?? noUsage(), amount));
  }

  finish(hold: LedgerHold, postings: readonly Posting[]) {
    this.holds.set(hold.id, hold);
    this.holdsFinished.set(hold.id, hold);
    this.events.push(holdChanged(hold, postings, this.now));
  }

  /** An atomic unit's starting point, to return to if one of its transfers is refused. */
  snapshot() {
    const { accounts, usage, payees, transfers, entries, events } = this;
    return { accounts: new Map(accounts), usage: new Map(usage), payees: new Set(payees), lengths: [transfers.length, entries.length, events.length] as const };
  }

  restore(s: ReturnType<Group['snapshot']>) {
    this.accounts = s.accounts;
    this.usage = s.usage;
    this.payees = s.payees;
    this.transfers.length = s.lengths[0];
    this.entries.length = s.lengths[1];
    this.events.length = s.lengths[2];
  }
}

function newTransfer(g: Group, c: Command, fields: Pick<TransferRecord, 'kind' | 'fromAccountId' | 'toAccountId' | 'amount' | 'currency'> & Partial<TransferRecord>): TransferRecord {
  const details = 'metadata' in c ? { description: c.description, reference: c.reference, metadata: c.metadata } : { description: null, reference: null, metadata: {} };
  return { id: randomUUID(), ...details, initiatedBy: c.caller.subject, createdAt: g.now, holdId: null, reversalOf: null, ...fields };
}

function completed(g: Group, record: TransferRecord, debit: Posting, credit: Posting): Verdict {
  g.transfers.push(record);
  g.post(record.id, record.currency, [debit, credit]);
  g.events.push(transactionCreated(record, [debit, credit]));
  return { status: 201, body: transferJson({ ...record, reversedAmount: 0n, sourceBalanceAfter: debit.balanceAfter, sourceSequence: debit.sequence }, true) };
}

/** Expire a pending hold whose time is up; true when it did. */
function expire(g: Group, hold: LedgerHold): boolean {
  if (!isExpired(hold, g.now)) return false;
  const d = decideRelease(hold, g.account(hold.fromAccountId));
  if (!d.ok) return false;
  g.post(hold.id, hold.currency, [d.release]);
  g.finish({ ...hold, status: 'expired', finishedAt: g.now }, [d.release]);
  return true;
}

function decide(g: Group, item: Resolved): Verdict | undefined {
  const c = item.command;
  const from = g.account(item.fromId);
  const to = g.account(item.toId);
  switch (c.op) {
    case 'transfer': {
      const d = decideTransfer(from, to, c.amount, c.currency);
      if (!d.ok) return d;
      if (c.kind === 'transfer') {
        const refusal = g.checkPolicy(from, to, c.amount);
        if (refusal) return refusal;
        g.spent(from.id, c.amount);
        g.payees.add(pairId(from.id, to.id));
      }
      return completed(g, newTransfer(g, c, { kind: c.kind, fromAccountId: from.id, toAccountId: to.id, amount: c.amount, currency: c.currency }), d.debit, d.credit);
    }
    case 'hold': {
      const d = decideHold(from, to, c.amount, c.currency);
      if (!d.ok) return d;
      const refusal = g.checkPolicy(from, to, c.amount);
      if (refusal) return refusal;
      g.spent(from.id, c.amount);
      const hold: LedgerHold = {
        id: randomUUID(),
        status: 'pending',
        fromAccountId: from.id,
        toAccountId: to.id,
        amount: c.amount,
        postedAmount: 0n,
        currency: c.currency,
        expiresAt: new Date(g.now.getTime() + c.timeoutSeconds * 1000),
        description: c.description,
        reference: c.reference,
        metadata: c.metadata,
        initiatedBy: c.caller.subject,
        createdAt: g.now,
        finishedAt: null,
        transferId: null,
      };
      g.post(hold.id, hold.currency, [d.reserve]);
      g.holds.set(hold.id, hold);
      g.holdsCreated.push(hold);
      g.events.push(holdChanged(hold, [d.reserve], g.now));
      return { status: 201, body: holdJson(hold) };
    }
    case 'post':
    case 'void':
    case 'expire': {
      const hold = g.holds.get(c.holdId);
      if (!hold) throw new Error(`hold ${c.holdId} is not in the ledger`);
      // A hold past its time is expired first, whoever reaches it: it changes state once, and a
      // post or void that comes too late is refused as hold_not_pending (expired).
      expire(g, hold);
      if (c.op === 'expire') return undefined;
      const current = g.holds.get(c.holdId)!;
      if (c.op === 'void') {
        const d = decideRelease(current, g.account(current.fromAccountId));
        if (!d.ok) return d;
        g.post(current.id, current.currency, [d.release]);
        const voided: LedgerHold = { ...current, status: 'voided', finishedAt: g.now };
        g.finish(voided, [d.release]);
        return { status: 200, body: holdJson(voided) };
      }
      const d = decidePost(current, from, to, c.amount);
      if (!d.ok) return d;
      const record = newTransfer(g, c, {
        kind: 'capture',
        fromAccountId: from.id,
        toAccountId: to.id,
        amount: d.amount,
        currency: current.currency,
        description: current.description,
        reference: current.reference,
        metadata: current.metadata,
        holdId: current.id,
      });
      g.transfers.push(record);
      g.post(record.id, record.currency, [d.debit, d.credit]);
      g.payees.add(pairId(from.id, to.id));
      const posted: LedgerHold = { ...current, status: 'posted', postedAmount: d.amount, finishedAt: g.now, transferId: record.id };
      g.finish(posted, [d.debit, d.credit]);
      return { status: 200, body: holdJson(posted) };
    }
    case 'reversal': {
      const original = g.targets.get(c.transferId);
      if (!original) throw new Error(`transfer ${c.transferId} is not in the ledger`);
      const d = decideReversal(original, from, to, c.amount);
      if (!d.ok) return d;
      const reversedAmount = original.reversedAmount + d.amount;
      g.targets.set(original.id, { ...original, reversedAmount });
      g.reversed.set(original.id, reversedAmount);
      return completed(g, newTransfer(g, c, { kind: 'reversal', fromAccountId: from.id, toAccountId: to.id, amount: d.amount, currency: original.currency, reversalOf: original.id }), d.debit, d.credit);
    }
  }
}

/** The audit record of a refused attempt: what was tried, by whom, and why not. */
function rejected(g: Group, item: Resolved, refusal: Refusal): EventEnvelope<TransactionRejected> {
  const c = item.command as Command;
  const hold = c.op === 'post' || c.op === 'void' ? g.holds.get(c.holdId) : undefined;
  const target = c.op === 'reversal' ? g.targets.get(c.transferId) : undefined;
  const amount = 'amount' in c && c.amount !== undefined ? c.amount : (hold?.amount ?? (target ? target.amount - target.reversedAmount : 0n));
  return transactionRejected({
    attempt: {
      kind: c.op === 'transfer' ? c.kind : c.op,
      fromAccountId: item.fromId,
      toAccountId: item.toId,
      amount: amount.toString(),
      currency: 'currency' in c ? c.currency : (hold?.currency ?? target?.currency ?? g.account(item.fromId).currency),
      reference: 'reference' in c ? c.reference : null,
      targetId: hold?.id ?? target?.id ?? null,
    },
    code: refusal.code,
    detail: refusal.detail,
    limit: typeof refusal.extra?.limit === 'string' ? refusal.extra.limit : null,
    initiatedBy: c.caller.subject,
    rejectedAt: g.now.toISOString(),
  });
}

const isRefusal = (v: Verdict): v is Refusal => 'ok' in v && v.ok === false;

/** Reads the group's rows under lock: accounts (id order), then holds and reversed transfers, then policy usage. */
async function lockGroup(q: Queryable, policy: Policy, items: readonly Resolved[], now: Date): Promise<Group> {
  const accounts = await lockAccounts(q, items.flatMap((i) => [i.fromId, i.toId]));
  const holdIds = items.flatMap((i) => ('holdId' in i.command ? [i.command.holdId] : []));
  const targetIds = items.flatMap((i) => (i.command.op === 'reversal' ? [i.command.transferId] : []));
  const [holds, targets] = [await lockHolds(q, holdIds), await lockReversalTargets(q, targetIds)];
  const payments = items.filter((i) => (i.command.op === 'transfer' && i.command.kind === 'transfer') || i.command.op === 'hold');
  const amountOf = (i: Resolved) => (i.command as { amount: bigint }).amount;
  const counted = [...new Set(payments.map((i) => i.fromId))].filter((id) => accounts.has(id) && needsUsage(policy, accounts.get(id)!));
  const checked = payments.filter((i) => accounts.has(i.fromId) && needsPayeeCheck(policy, accounts.get(i.fromId)!, amountOf(i)));
  const usage = await usageOf(q, counted, now, policy.velocity?.seconds ?? 0, usageWindowSeconds(policy));
  const payees = await knownPayees(q, checked.map((i) => ({ from: i.fromId, to: i.toId })));
  return new Group(now, policy, accounts, holds, targets, usage, payees);
}

export async function commitGroup(q: Queryable, policy: Policy, units: readonly Unit[]): Promise<Settled<Outcome>[][]> {
  // A key is claimed once; a later unit with the same key in this group replays the first's outcome.
  const firstOfKey = new Map<string, Unit>();
  for (const unit of units) if (unit.key && !firstOfKey.has(keyId(unit.key))) firstOfKey.set(keyId(unit.key), unit);
  const claimed = new Set((await claimIdempotency(q, [...firstOfKey.values()].map((u) => u.key!))).map(keyId));
  const runs = units.filter((u) => !u.key || (claimed.has(keyId(u.key)) && firstOfKey.get(keyId(u.key)) === u));

  const g = await lockGroup(q, policy, runs.flatMap((u) => u.items), new Date());
  const lockedSequence = new Map([...g.accounts].map(([id, a]) => [id, a.sequence]));
  const results = new Map<Unit, Settled<Outcome>[]>();
  const outcomes: (IdempotencyKey & { status: number; body: unknown })[] = [];
  for (const unit of runs) {
    const eventsBefore = g.events.length;
    const decided = decideUnit(g, unit);
    if (unit.trace) for (const event of g.events.slice(eventsBefore)) Object.assign(event, unit.trace);
    results.set(unit, decided.map((value) => ({ ok: true, value })));
    if (!unit.key) continue;
    const { caller, key } = unit.key;
    if (unit.batch) outcomes.push({ caller, key, status: 200, body: decided.map(({ status, body }) => ({ status, body })) satisfies StoredBatch });
    else outcomes.push({ caller, key, status: decided[0]!.status, body: decided[0]!.body });
  }

  const changed = [...g.accounts.values()].filter((a) => a.sequence !== lockedSequence.get(a.id));
  await writeGroup(q, {
    at: g.now,
    balances: changed.map((a) => ({ id: a.id, balance: a.balance, pending: a.pending, sequence: a.sequence, sequenceBefore: lockedSequence.get(a.id)! })),
    transfers: g.transfers,
    entries: g.entries,
    outcomes,
    events: g.events,
    holdsCreated: g.holdsCreated,
    holdsFinished: [...g.holdsFinished.values()],
    reversed: [...g.reversed].map(([id, reversedAmount]) => ({ id, reversedAmount })),
  });

  const toReplay = units.filter((u) => !results.has(u));
  if (toReplay.length > 0) {
    const stored = new Map((await findIdempotency(q, toReplay.map((u) => u.key!))).map((r) => [keyId(r), r]));
    for (const unit of toReplay) results.set(unit, replay(unit.key!, unit.batch, unit.items.length, stored.get(keyId(unit.key!))));
  }
  return units.map((u) => results.get(u)!);
}

/** Decides a unit's items in order; an atomic unit's first refusal undoes the rest and refuses them too. */
function decideUnit(g: Group, unit: Unit): Outcome[] {
  const decided: Outcome[] = [];
  const before = unit.atomic ? g.snapshot() : undefined;
  for (const [index, item] of unit.items.entries()) {
    const verdict = decide(g, item);
    if (verdict === undefined) {
      decided.push({ status: 200, body: null, replayed: false });
      continue;
    }
    if (!isRefusal(verdict)) {
      decided.push({ ...verdict, replayed: false });
      continue;
    }
    const body = problemBody(verdict.code, verdict.detail, verdict.extra);
    decided.push({ status: body.status, body, replayed: false });
    if (before) {
      // All or none: undo the unit's decisions; the others are refused because of this one.
      g.restore(before);
      g.events.push(rejected(g, item, verdict));
      const linked = problemBody('linked_transfer_failed', `Transfer ${index} of this atomic batch was refused (${body.code})`, { index });
      return unit.items.map((_, k) => (k === index ? decided[index]! : { status: linked.status, body: linked, replayed: false }));
    }
    g.events.push(rejected(g, item, verdict));
  }
  return decided;
}
