// Moving money. Requests are resolved (accounts, alias) on their own, then committed in groups:
// every transfer waiting when the previous group finishes goes into ONE PostgreSQL transaction,
// decided one after another against the balances as they stand inside the group, so each result
// is exactly what one-at-a-time processing would give (issue 3's group commit).
import { randomUUID } from 'node:crypto';
import {
  createBatcher,
  envelope,
  isOperator,
  problemBody,
  ProblemError,
  type ProblemBody,
  type Caller,
  type Db,
  type EventEnvelope,
  type Queryable,
  type Settled,
} from '@wallet/kit';
import { eventTypes, type TransactionCreated, type Transfer } from '@wallet/contracts';
import { decideTransfer, type LedgerAccount, type Posting } from './domain/transfer.ts';
import type { Directory } from './directory.ts';
import {
  claimIdempotency,
  findIdempotency,
  lockAccounts,
  writeGroup,
  type IdempotencyKey,
  type IdempotencyRecord,
  type StoredTransfer,
  type TransferRecord,
} from './store/ledger-store.ts';

export type Destination = { accountId: string } | { alias: string };

export interface TransferCommand {
  caller: Caller;
  idempotencyKey: string;
  /** Hash of the request; the same key with another request is refused. */
  fingerprint: string;
  kind: TransferRecord['kind'];
  from: { accountId: string } | { settlement: true };
  to: Destination | { settlement: true };
  amount: bigint;
  currency: string;
  description: string | null;
  reference: string | null;
  metadata: Record<string, string>;
  requestId?: string;
}

export interface Outcome {
  status: number;
  body: unknown;
  replayed: boolean;
}

export interface TransferService {
  execute(command: TransferCommand): Promise<Outcome>;
  /** Up to 1,000 transfers applied in order, each with its own outcome; with `atomic`, all or none. */
  executeBatch(commands: readonly TransferCommand[], atomic: boolean): Promise<Settled<Outcome>[]>;
}

interface Resolved {
  command: TransferCommand;
  fromId: string;
  toId: string;
}

/** What one caller submits: one transfer, or a batch that may have to succeed or fail as a whole. */
interface Unit {
  items: Resolved[];
  atomic: boolean;
}

export function transferJson(t: StoredTransfer, showSource: boolean): Transfer {
  return {
    id: t.id,
    kind: t.kind,
    status: 'completed',
    fromAccountId: t.fromAccountId,
    toAccountId: t.toAccountId,
    amount: t.amount.toString(),
    currency: t.currency,
    description: t.description,
    reference: t.reference,
    metadata: t.metadata,
    createdAt: t.createdAt.toISOString(),
    ...(showSource ? { source: { accountId: t.fromAccountId, balanceAfter: t.sourceBalanceAfter.toString(), sequence: t.sourceSequence.toString() } } : {}),
  };
}

function transactionCreated(t: TransferRecord, postings: readonly Posting[]): EventEnvelope<TransactionCreated> {
  const createdAt = t.createdAt.toISOString();
  return envelope('transaction', eventTypes.transactionCreated, {
    transfer: {
      id: t.id,
      kind: t.kind,
      fromAccountId: t.fromAccountId,
      toAccountId: t.toAccountId,
      amount: t.amount.toString(),
      currency: t.currency,
      description: t.description,
      reference: t.reference,
      metadata: t.metadata,
      createdAt,
    },
    entries: postings.map((p) => ({
      accountId: p.accountId,
      transferId: t.id,
      currency: t.currency,
      amount: p.amount.toString(),
      balanceAfter: p.balanceAfter.toString(),
      sequence: p.sequence.toString(),
      createdAt,
    })),
  });
}

const keyOf = (c: TransferCommand): IdempotencyKey => ({ caller: c.caller.subject, key: c.idempotencyKey });
const keyId = (k: IdempotencyKey) => `${k.caller}\n${k.key}`;

function replay(command: TransferCommand, stored: IdempotencyRecord | undefined): Settled<Outcome> {
  if (!stored || stored.status === 0) return { ok: false, error: new ProblemError('idempotency_request_in_progress') };
  if (stored.fingerprint !== command.fingerprint) {
    return { ok: false, error: new ProblemError('idempotency_key_reused', `Idempotency-Key "${command.idempotencyKey}" was used with a different request`) };
  }
  return { ok: true, value: { status: stored.status, body: stored.body, replayed: true } };
}

/** One group of units in one transaction: claim keys, lock accounts in id order, decide, write. */
async function commitGroup(q: Queryable, units: readonly Unit[]): Promise<Settled<Outcome>[][]> {
  const items = units.flatMap((u) => u.items);
  const results: Settled<Outcome>[] = new Array(items.length);
  // A key appears once in the claim; its later copies in this group replay the first's outcome.
  const firstOfKey = new Map<string, number>();
  items.forEach((item, i) => {
    const id = keyId(keyOf(item.command));
    if (!firstOfKey.has(id)) firstOfKey.set(id, i);
  });
  const claimed = new Set(
    (await claimIdempotency(q, [...firstOfKey.values()].map((i) => ({ ...keyOf(items[i]!.command), fingerprint: items[i]!.command.fingerprint })))).map(keyId),
  );
  const runs = new Set([...firstOfKey.entries()].filter(([id]) => claimed.has(id)).map(([, i]) => i));

  const accounts = await lockAccounts(q, items.filter((_, i) => runs.has(i)).flatMap((item) => [item.fromId, item.toId]));
  const lockedSequence = new Map([...accounts].map(([id, a]) => [id, a.sequence]));
  const now = new Date();
  const written: { record: TransferRecord; debit: Posting; credit: Posting }[] = [];
  const outcomes: (IdempotencyKey & { status: number; body: unknown })[] = [];

  let offset = 0;
  for (const unit of units) {
    const unitStart = offset;
    const indexes = unit.items.map((_, k) => unitStart + k).filter((i) => runs.has(i));
    offset += unit.items.length;
    const before = new Map(accounts);
    const writtenBefore = written.length;
    let refusal: { index: number; body: ProblemBody } | undefined;
    for (const i of indexes) {
      const { command: c, fromId, toId } = items[i]!;
      const from = accounts.get(fromId);
      const to = accounts.get(toId);
      if (!from || !to) throw new Error(`accounts ${fromId} / ${toId} not in the ledger`);
      const decision = decideTransfer(from, to, c.amount, c.currency);
      if (!decision.ok) {
        const body = problemBody(decision.code, decision.detail, decision.extra);
        results[i] = { ok: true, value: { status: body.status, body, replayed: false } };
        refusal ??= { index: i, body };
        continue;
      }
      const { debit, credit } = decision;
      accounts.set(fromId, { ...from, balance: debit.balanceAfter, sequence: debit.sequence });
      accounts.set(toId, { ...to, balance: credit.balanceAfter, sequence: credit.sequence });
      const record: TransferRecord = {
        id: randomUUID(),
        kind: c.kind,
        fromAccountId: fromId,
        toAccountId: toId,
        amount: c.amount,
        currency: c.currency,
        description: c.description,
        reference: c.reference,
        metadata: c.metadata,
        initiatedBy: c.caller.subject,
        createdAt: now,
      };
      written.push({ record, debit, credit });
      const body = transferJson({ ...record, sourceBalanceAfter: debit.balanceAfter, sourceSequence: debit.sequence }, true);
      results[i] = { ok: true, value: { status: 201, body, replayed: false } };
    }
    if (unit.atomic && refusal) {
      // All or none: undo the unit's decisions; the others are refused because of the first refusal.
      for (const [id, account] of before) accounts.set(id, account);
      written.length = writtenBefore;
      for (const i of indexes) {
        if (i === refusal.index) continue;
        const body = problemBody('linked_transfer_failed', `Transfer ${refusal.index - unitStart} of this atomic batch was refused (${refusal.body.code})`, { index: refusal.index - unitStart });
        results[i] = { ok: true, value: { status: body.status, body, replayed: false } };
      }
    }
    for (const i of indexes) {
      const r = results[i]!;
      if (r.ok) outcomes.push({ ...keyOf(items[i]!.command), status: r.value.status, body: r.value.body });
    }
  }

  const changed = [...accounts.values()].filter((a: LedgerAccount) => a.sequence !== lockedSequence.get(a.id));
  await writeGroup(q, {
    at: now,
    balances: changed.map((a) => ({ id: a.id, balance: a.balance, sequence: a.sequence, sequenceBefore: lockedSequence.get(a.id)! })),
    transfers: written.map((w) => w.record),
    entries: written.flatMap((w) => [w.debit, w.credit].map((p) => ({ ...p, transferId: w.record.id, currency: w.record.currency, createdAt: now }))),
    outcomes,
    events: written.map((w) => transactionCreated(w.record, [w.debit, w.credit])),
  });

  const toReplay = items.map((_, i) => i).filter((i) => !runs.has(i));
  if (toReplay.length > 0) {
    const stored = new Map((await findIdempotency(q, toReplay.map((i) => keyOf(items[i]!.command)))).map((r) => [keyId(r), r]));
    for (const i of toReplay) results[i] = replay(items[i]!.command, stored.get(keyId(keyOf(items[i]!.command))));
  }
  let start = 0;
  return units.map((u) => results.slice(start, (start += u.items.length)));
}

export interface TransferServiceOptions {
  db: Db;
  directory: Directory;
  /** Called after each group commits, with the outcomes (wakes the outbox relay, counts). */
  onCommit: (outcomes: readonly Settled<Outcome>[]) => void;
  groupSizeMax: number;
  /** Groups committing at once: with 2, one prepares while the other waits for its commit. */
  groupsInFlightMax: number;
  /** Wait before taking a group (embedded mode: lets requests pile up while PGlite holds the thread). */
  groupLingerMs: number;
}

export function createTransferService({ db, directory, onCommit, groupSizeMax, groupsInFlightMax, groupLingerMs }: TransferServiceOptions): TransferService {
  const commit = async (units: Unit[]) => {
    const results = await db.tx((q) => commitGroup(q, units));
    onCommit(results.flat());
    return results;
  };
  const batcher = createBatcher<Unit, Settled<Outcome>[]>(async (units) => {
    try {
      return (await commit(units)).map((value) => ({ ok: true, value }));
    } catch (error) {
      if (units.length === 1) throw error;
      // Something in the group failed as a whole: commit each unit alone, so one cannot fail the others.
      const alone: Settled<Settled<Outcome>[]>[] = [];
      for (const unit of units) {
        alone.push(await commit([unit]).then(([value]) => ({ ok: true as const, value: value! }), (e: unknown) => ({ ok: false as const, error: e })));
      }
      return alone;
    }
  }, groupSizeMax, { concurrency: groupsInFlightMax, lingerMs: groupLingerMs });

  const resolve = async (c: TransferCommand): Promise<Resolved> => {
    const from = 'settlement' in c.from ? await directory.settlementAccount(c.currency, c.requestId) : await directory.account(c.from.accountId, c.requestId);
    // People move money only out of their own accounts; anything else looks like a missing account.
    if (from.type !== 'settlement' && from.ownerId !== c.caller.subject && !isOperator(c.caller)) throw new ProblemError('account_not_found');
    let toId: string;
    if ('settlement' in c.to) toId = (await directory.settlementAccount(c.currency, c.requestId)).id;
    else if ('alias' in c.to) toId = await directory.resolveAlias(c.to.alias, c.currency, c.requestId);
    else toId = c.to.accountId;
    const to = await directory.account(toId, c.requestId);
    if (c.kind === 'transfer' && (from.type !== 'user' || to.type !== 'user')) throw new ProblemError('account_not_found');
    return { command: c, fromId: from.id, toId: to.id };
  };

  /** A replay answers as the first request did, even if the accounts or alias changed since. */
  const storedOutcome = async (c: TransferCommand): Promise<Settled<Outcome> | undefined> => {
    const [stored] = await findIdempotency(db, [keyOf(c)]);
    return stored && replay(c, stored);
  };

  return {
    async execute(c) {
      let resolved: Resolved;
      try {
        resolved = await resolve(c);
      } catch (error) {
        const stored = await storedOutcome(c);
        if (!stored) throw error;
        if (!stored.ok) throw stored.error;
        return stored.value;
      }
      const [outcome] = await batcher.submit({ items: [resolved], atomic: false });
      if (!outcome!.ok) throw outcome!.error;
      return outcome!.value;
    },

    async executeBatch(commands, atomic) {
      const resolved = await Promise.all(commands.map((c) => resolve(c).then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }))));
      const failed = resolved.findIndex((r) => !r.ok);
      if (failed >= 0) {
        const stored = await storedOutcome(commands[0]!);
        if (stored) return Promise.all(commands.map(async (c) => (await storedOutcome(c)) ?? stored));
        const error = (resolved[failed] as { error: unknown }).error;
        throw error instanceof ProblemError ? new ProblemError(error.code, `Transfer ${failed}: ${error.message}`, { index: failed }) : error;
      }
      return batcher.submit({ items: resolved.map((r) => (r as { value: Resolved }).value), atomic });
    },
  };
}
