// How the ledger's records look to clients and in events.
import { envelope, type EventEnvelope } from '@wallet/kit';
import { eventTypes, type Hold, type HoldChanged, type LedgerEntry, type TransactionCreated, type TransactionRejected, type Transfer } from '@wallet/contracts';
import type { LedgerHold } from '../domain/hold.ts';
import type { Posting } from '../domain/transfer.ts';
import type { StoredTransfer, TransferRecord } from '../store/ledger-store.ts';

/** What a transfer says in responses and in its event alike. */
const transferFields = (t: TransferRecord) => ({
  id: t.id,
  kind: t.kind,
  fromAccountId: t.fromAccountId,
  toAccountId: t.toAccountId,
  amount: t.amount.toString(),
  currency: t.currency,
  description: t.description,
  reference: t.reference,
  metadata: t.metadata,
  holdId: t.holdId,
  reversalOf: t.reversalOf,
  createdAt: t.createdAt.toISOString(),
});

export function transferJson(t: StoredTransfer, showSource: boolean): Transfer {
  return {
    ...transferFields(t),
    status: 'completed',
    reversedAmount: t.reversedAmount.toString(),
    ...(showSource ? { source: { accountId: t.fromAccountId, balanceAfter: t.sourceBalanceAfter.toString(), sequence: t.sourceSequence.toString() } } : {}),
  };
}

export function holdJson(h: LedgerHold): Hold {
  return {
    id: h.id,
    status: h.status,
    fromAccountId: h.fromAccountId,
    toAccountId: h.toAccountId,
    amount: h.amount.toString(),
    postedAmount: h.postedAmount.toString(),
    currency: h.currency,
    expiresAt: h.expiresAt?.toISOString() ?? null,
    description: h.description,
    reference: h.reference,
    metadata: h.metadata,
    createdAt: h.createdAt.toISOString(),
    finishedAt: h.finishedAt?.toISOString() ?? null,
    transferId: h.transferId,
  };
}

function entriesJson(movementId: string, currency: string, postings: readonly Posting[], at: Date): LedgerEntry[] {
  const createdAt = at.toISOString();
  return postings.map((p) => ({
    accountId: p.accountId,
    transferId: movementId,
    currency,
    amount: p.amount.toString(),
    balanceAfter: p.balanceAfter.toString(),
    pendingAmount: p.pendingAmount.toString(),
    pendingAfter: p.pendingAfter.toString(),
    sequence: p.sequence.toString(),
    createdAt,
  }));
}

export function transactionCreated(t: TransferRecord, postings: readonly Posting[]): EventEnvelope<TransactionCreated> {
  return envelope('transaction', eventTypes.transactionCreated, {
    transfer: transferFields(t),
    entries: entriesJson(t.id, t.currency, postings, t.createdAt),
  });
}

const holdEventType = {
  pending: eventTypes.holdCreated,
  posted: eventTypes.holdPosted,
  voided: eventTypes.holdVoided,
  expired: eventTypes.holdExpired,
} as const;

/** The hold as it now stands; entries belong to the capture transfer once posted, else to the hold. */
export function holdChanged(h: LedgerHold, postings: readonly Posting[], at: Date): EventEnvelope<HoldChanged> {
  return envelope('transaction', holdEventType[h.status], { hold: holdJson(h), entries: entriesJson(h.transferId ?? h.id, h.currency, postings, at) });
}

export function transactionRejected(data: TransactionRejected): EventEnvelope<TransactionRejected> {
  return envelope('transaction', eventTypes.transactionRejected, data);
}
