// Moving money: idempotency, authorisation, the decision and the write, in one PostgreSQL transaction.
import { randomUUID } from 'node:crypto';
import { envelope, appendOutbox, isOperator, problemBody, ProblemError, type Caller, type Db, type Queryable } from '@wallet/kit';
import { eventTypes, type TransactionCreated, type Transfer } from '@wallet/contracts';
import { decideTransfer, type Posting } from './domain/transfer.ts';
import type { Directory } from './directory.ts';
import {
  claimIdempotency,
  completeIdempotency,
  findIdempotency,
  lockAccounts,
  writeTransfer,
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
  requestId?: string;
}

export interface Outcome {
  status: number;
  body: unknown;
  replayed: boolean;
}

export interface TransferService {
  execute(command: TransferCommand): Promise<Outcome>;
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
    createdAt: t.createdAt.toISOString(),
    ...(showSource ? { source: { accountId: t.fromAccountId, balanceAfter: t.sourceBalanceAfter.toString(), sequence: t.sourceSequence.toString() } } : {}),
  };
}

function transactionCreated(t: TransferRecord, postings: readonly Posting[]) {
  const data: TransactionCreated = {
    transfer: {
      id: t.id,
      kind: t.kind,
      fromAccountId: t.fromAccountId,
      toAccountId: t.toAccountId,
      amount: t.amount.toString(),
      currency: t.currency,
      description: t.description,
      createdAt: t.createdAt.toISOString(),
    },
    entries: postings.map((p) => ({
      accountId: p.accountId,
      transferId: t.id,
      currency: t.currency,
      amount: p.amount.toString(),
      balanceAfter: p.balanceAfter.toString(),
      sequence: p.sequence.toString(),
      createdAt: t.createdAt.toISOString(),
    })),
  };
  return envelope('transaction', eventTypes.transactionCreated, data);
}

export function createTransferService(db: Db, directory: Directory, onCommit: () => void): TransferService {
  const replay = (caller: Caller, key: string, fingerprint: string, stored: { fingerprint: string; status: number; body: unknown }): Outcome => {
    if (stored.fingerprint !== fingerprint) {
      throw new ProblemError('idempotency_key_reused', `Idempotency-Key "${key}" was used with a different request`);
    }
    return { status: stored.status, body: stored.body, replayed: true };
  };

  const resolveAccounts = async (c: TransferCommand) => {
    const from = 'settlement' in c.from ? await directory.settlementAccount(c.currency, c.requestId) : await directory.account(c.from.accountId, c.requestId);
    // People move money only out of their own accounts; anything else looks like a missing account.
    if (from.type !== 'settlement' && from.ownerId !== c.caller.subject && !isOperator(c.caller)) throw new ProblemError('account_not_found');
    let toId: string;
    if ('settlement' in c.to) toId = (await directory.settlementAccount(c.currency, c.requestId)).id;
    else if ('alias' in c.to) toId = await directory.resolveAlias(c.to.alias, c.currency, c.requestId);
    else toId = c.to.accountId;
    const to = await directory.account(toId, c.requestId);
    if (c.kind === 'transfer' && (from.type !== 'user' || to.type !== 'user')) throw new ProblemError('account_not_found');
    return { fromId: from.id, toId: to.id };
  };

  const commit = async (q: Queryable, c: TransferCommand, fromId: string, toId: string): Promise<Outcome> => {
    const owner = c.caller.subject;
    if (!(await claimIdempotency(q, owner, c.idempotencyKey, c.fingerprint))) {
      const stored = await findIdempotency(q, owner, c.idempotencyKey);
      if (!stored) throw new ProblemError('idempotency_request_in_progress');
      return replay(c.caller, c.idempotencyKey, c.fingerprint, stored);
    }
    const locked = await lockAccounts(q, [fromId, toId]);
    const decision = decideTransfer(locked.get(fromId)!, locked.get(toId)!, c.amount, c.currency);
    if (!decision.ok) {
      // The refusal is the key's outcome: retrying with the same key is refused again.
      const body = problemBody(decision.code, decision.detail, decision.extra);
      await completeIdempotency(q, owner, c.idempotencyKey, body.status, body);
      return { status: body.status, body, replayed: false };
    }
    const record: TransferRecord = {
      id: randomUUID(),
      kind: c.kind,
      fromAccountId: fromId,
      toAccountId: toId,
      amount: c.amount,
      currency: c.currency,
      description: c.description,
      initiatedBy: owner,
      createdAt: new Date(),
    };
    await writeTransfer(q, record, [decision.debit, decision.credit]);
    const body = transferJson({ ...record, sourceBalanceAfter: decision.debit.balanceAfter, sourceSequence: decision.debit.sequence }, true);
    await completeIdempotency(q, owner, c.idempotencyKey, 201, body);
    await appendOutbox(q, 'ledger', [transactionCreated(record, [decision.debit, decision.credit])]);
    return { status: 201, body, replayed: false };
  };

  return {
    async execute(c) {
      const stored = await findIdempotency(db, c.caller.subject, c.idempotencyKey);
      if (stored) return replay(c.caller, c.idempotencyKey, c.fingerprint, stored);
      const { fromId, toId } = await resolveAccounts(c);
      const outcome = await db.tx((q) => commit(q, c, fromId, toId));
      if (outcome.status === 201 && !outcome.replayed) onCommit();
      return outcome;
    },
  };
}
