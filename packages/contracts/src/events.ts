// Events that cross service boundaries. Amounts are digit strings (signed for entries).
export const eventTypes = {
  accountOpened: 'account.opened',
  accountStatusChanged: 'account.status_changed',
  accountLimitsChanged: 'account.limits_changed',
  transactionCreated: 'transaction.created',
  holdCreated: 'transaction.hold_created',
  holdPosted: 'transaction.hold_posted',
  holdVoided: 'transaction.hold_voided',
  holdExpired: 'transaction.hold_expired',
  transactionRejected: 'transaction.rejected',
  balanceAlertTriggered: 'balance.alert_triggered',
} as const;

/** Events whose `entries` change balances; every other `transaction.*` event carries none. */
export const entryEventTypes: readonly string[] = [
  eventTypes.transactionCreated,
  eventTypes.holdCreated,
  eventTypes.holdPosted,
  eventTypes.holdVoided,
  eventTypes.holdExpired,
];

export type AccountStatus = 'active' | 'frozen' | 'closed';
export type AccountType = 'user' | 'settlement';

export interface AccountOpened {
  accountId: string;
  ownerId: string;
  currency: string;
  type: AccountType;
  status: AccountStatus;
  name: string;
  /** How far below zero the account may go, in minor units; settlement accounts are unbounded. */
  overdraftLimit: string;
  /** The limits tier the transfer policy applies (absent on events written before tiers: "standard"). */
  tier?: string;
  createdAt: string;
}

/** An operator changed an account's overdraft limit or limits tier. */
export interface AccountLimitsChanged {
  accountId: string;
  ownerId: string;
  overdraftLimit: string;
  tier: string;
  changedAt: string;
}

export interface AccountStatusChanged {
  accountId: string;
  ownerId: string;
  status: AccountStatus;
  previousStatus: AccountStatus;
  changedAt: string;
}

/** capture: the posted part of a hold; reversal: money returned against an earlier transfer. */
export type TransferKind = 'transfer' | 'deposit' | 'withdrawal' | 'capture' | 'reversal';

export interface LedgerEntry {
  accountId: string;
  /** The transfer the entry belongs to; for a hold's own entries (reserve, void, expire), the hold. */
  transferId: string;
  currency: string;
  /** Signed: negative for a debit, positive for a credit; 0 when only the reserved amount changes. */
  amount: string;
  balanceAfter: string;
  /** Signed change of the amount reserved by holds (absent: 0, on events written before holds). */
  pendingAmount?: string;
  /** The amount reserved by holds after this entry (absent: unchanged). */
  pendingAfter?: string;
  /** Per-account sequence: 1 for the account's first entry, then +1 with each entry. */
  sequence: string;
  createdAt: string;
}

export interface TransactionCreated {
  transfer: {
    id: string;
    kind: TransferKind;
    fromAccountId: string;
    toAccountId: string;
    amount: string;
    currency: string;
    description: string | null;
    /** Absent on events written before references existed. */
    reference?: string | null;
    metadata?: Record<string, string>;
    /** For a capture: the hold it posts. */
    holdId?: string | null;
    /** For a reversal: the transfer it returns money against. */
    reversalOf?: string | null;
    createdAt: string;
  };
  entries: LedgerEntry[];
}

export type HoldStatus = 'pending' | 'posted' | 'voided' | 'expired';

export interface HoldData {
  id: string;
  status: HoldStatus;
  fromAccountId: string;
  toAccountId: string;
  amount: string;
  /** What was captured when posted; "0" otherwise. */
  postedAmount: string;
  currency: string;
  expiresAt: string | null;
  description: string | null;
  reference: string | null;
  metadata: Record<string, string>;
  createdAt: string;
  finishedAt: string | null;
  /** The capture transfer, once posted. */
  transferId: string | null;
}

/**
 * `transaction.hold_created|hold_posted|hold_voided|hold_expired`: the hold as it now stands, and the
 * entries of this step. Created: the source reserves (pendingAmount +amount). Posted: the source
 * releases the reservation and is debited the posted amount, the destination credited. Voided and
 * expired: the source releases the reservation.
 */
export interface HoldChanged {
  hold: HoldData;
  entries: LedgerEntry[];
}

/** `transaction.rejected`: an attempt the ledger refused; nothing moved. For audit and fraud analysis. */
export interface TransactionRejected {
  attempt: {
    kind: TransferKind | 'hold' | 'post' | 'void';
    fromAccountId: string;
    toAccountId: string;
    amount: string;
    currency: string;
    reference: string | null;
    /** The hold or the transfer the attempt acted on (post, void, reversal). */
    targetId: string | null;
  };
  code: string;
  detail: string;
  /** The policy rule, for `limit_exceeded`. */
  limit: string | null;
  initiatedBy: string;
  rejectedAt: string;
}

/**
 * `balance.alert_triggered` (published by the balance service): an account's available balance
 * (posted − pending + overdraft limit) went from at or above an alert's `below` to under it. Once
 * per crossing; the alert is re-armed when available is back at or above `below`. Amounts are minor
 * units as digit strings (`balanceBefore`/`balanceAfter` may be negative).
 */
export interface BalanceAlertTriggered {
  alertId: string;
  accountId: string;
  ownerId: string;
  currency: string;
  /** The threshold. */
  below: string;
  /** Available before the crossing entry (or limits change), as the alert last saw it. */
  balanceBefore: string;
  /** Available after it: under `below`. */
  balanceAfter: string;
  /** The account's entry that crossed (for a crossing caused by a limits change: its last entry). */
  sequence: string;
  /** When the ledger wrote that entry (or the limits change took effect). */
  at: string;
}
