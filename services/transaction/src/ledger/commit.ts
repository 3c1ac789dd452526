// One group of units in ONE PostgreSQL transaction: claim the idempotency keys, lock the accounts in
// id order, then read the holds and reversed transfers (every change to those holds their accounts'
// locks), count policy usage, decide each item against the group's running state, and write it all
// in one statement. Each result is exactly what one-at-a-time processing would give.
import { randomUUID } from 'node:crypto';
import { problemBody, ProblemError, type EventEnvelope, type Queryable, type Settled } from '@wallet/kit';
import type { TransactionRejected } from '@wallet/contracts';
import { decideHold, decidePost, decideRelease, isExpired, type LedgerHold } from '../domain/hold.ts';
import { addUsage, checkPolicy, needsPayeeCheck, needsUsage, noUsage, usageWindowSeconds, type Policy, type Usage } from '../domain/policy.ts';
import { decideReversal } from '../domain/reversal.ts';
import { afterPosting, decideTransfer, type LedgerAccount, type Posting, type Refusal } from '../domain/transfer.ts';
import { knownPayees, lockHolds, lockReversalTargets, usageOf, type ReversalTarget } from '../store/hold-store.ts';
import { claimIdempotency, findIdempotency, lockAccounts, writeGroup, type EntryRecord, type IdempotencyKey, type IdempotencyRecord, type TransferRecord } from '../store/ledger-store.ts';
import type { Command, ExpireCommand, Resolved } from './commands.ts';
import { holdChanged, holdJson, transactionCreated, transactionRejected, transferJson } from './json.ts';

export interface Outcome {
  status: number;
  body: unknown;
  replayed: boolean;
}

/** What one caller submits: one item, or a batch of transfers that may have to succeed or fail as a whole. */
export interface Unit {
  items: Resolved[];
  atomic: boolean;
}

type Verdict = { status: number; body: unknown } | Refusal;

export const keyOf = (c: Command): IdempotencyKey => ({ caller: c.caller.subject, key: c.idempotencyKey });
const keyId = (k: IdempotencyKey) => `${k.caller}\n${k.key}`;
const keyed = (c: Command | ExpireCommand): c is Command => c.op !== 'expire';
const pairId = (from: string, to: string) => `${from}\n${to}`;

export function replay(command: Command, stored: IdempotencyRecord | undefined): Settled<Outcome> {
  if (!stored || stored.status === 0) return { ok: false, error: new ProblemError('idempotency_request_in_progress') };
  if (stored.fingerprint !== command.fingerprint) {
    return { ok: false, error: new ProblemError('idempotency_key_reused', `Idempotency-Key "${command.idempotencyKey}" was used with a different request`) };
  }
  return { ok: true, value: { status: stored.status, body: stored.body, replayed: true } };
}

/** The group's running state: what the database held under lock, plus every decision so far. */
class Group {
  readonly transfers: TransferRecord[] = [];
  readonly entries: EntryRecord[] = [];
  readonly events: EventEnvelope[] = [];
  readonly holdsCreated: LedgerHold[] = [];
  readonly holdsFinished = new Map<string, LedgerHold>();
  readonly reversed = new Map<string, bigint>();

  constructor(
    readonly now: Date,
    readonly policy: Policy,
    public accounts: Map<string, LedgerAccount>,
    readonly holds: Map<string, LedgerHold>,
    readonly targets: Map<string, ReversalTarget>,
    public usage: Map<string, Usage>,
    public payees: Set<string>,
  ) {}

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
  const items = units.flatMap((u) => u.items);
  const results: Settled<Outcome>[] = new Array(items.length);
  // A key appears once in the claim; its later copies in this group replay the first's outcome.
  const firstOfKey = new Map<string, number>();
  const runs = new Set<number>();
  items.forEach((item, i) => {
    if (!keyed(item.command)) return runs.add(i);
    const id = keyId(keyOf(item.command));
    if (!firstOfKey.has(id)) firstOfKey.set(id, i);
  });
  const claims = [...firstOfKey.values()].map((i) => ({ ...keyOf(items[i]!.command as Command), fingerprint: (items[i]!.command as Command).fingerprint }));
  const claimed = new Set((await claimIdempotency(q, claims)).map(keyId));
  for (const [id, i] of firstOfKey) if (claimed.has(id)) runs.add(i);

  const lockedSequence = new Map<string, bigint>();
  const g = await lockGroup(q, policy, items.filter((_, i) => runs.has(i)), new Date());
  for (const [id, a] of g.accounts) lockedSequence.set(id, a.sequence);
  const outcomes: (IdempotencyKey & { status: number; body: unknown })[] = [];

  let offset = 0;
  for (const unit of units) {
    const unitStart = offset;
    const indexes = unit.items.map((_, k) => unitStart + k).filter((i) => runs.has(i));
    offset += unit.items.length;
    const before = unit.atomic ? g.snapshot() : undefined;
    for (const i of indexes) {
      const verdict = decide(g, items[i]!);
      if (verdict === undefined) {
        results[i] = { ok: true, value: { status: 200, body: null, replayed: false } };
        continue;
      }
      if (!isRefusal(verdict)) {
        results[i] = { ok: true, value: { ...verdict, replayed: false } };
        continue;
      }
      const body = problemBody(verdict.code, verdict.detail, verdict.extra);
      results[i] = { ok: true, value: { status: body.status, body, replayed: false } };
      if (before) {
        // All or none: undo the unit's decisions; the others are refused because of this one.
        g.restore(before);
        for (const other of indexes) {
          if (other === i) continue;
          const linked = problemBody('linked_transfer_failed', `Transfer ${i - unitStart} of this atomic batch was refused (${body.code})`, { index: i - unitStart });
          results[other] = { ok: true, value: { status: linked.status, body: linked, replayed: false } };
        }
      }
      g.events.push(rejected(g, items[i]!, verdict));
      if (before) break;
    }
    for (const i of indexes) {
      const r = results[i]!;
      const c = items[i]!.command;
      if (r.ok && keyed(c)) outcomes.push({ ...keyOf(c), status: r.value.status, body: r.value.body });
    }
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

  const toReplay = items.map((_, i) => i).filter((i) => !runs.has(i));
  if (toReplay.length > 0) {
    const stored = new Map((await findIdempotency(q, toReplay.map((i) => keyOf(items[i]!.command as Command)))).map((r) => [keyId(r), r]));
    for (const i of toReplay) {
      const c = items[i]!.command as Command;
      results[i] = replay(c, stored.get(keyId(keyOf(c))));
    }
  }
  let start = 0;
  return units.map((u) => results.slice(start, (start += u.items.length)));
}
