// What a reader sees of one account's balance, and who may see it.
import { UNBOUNDED_OVERDRAFT } from './entry.ts';

export interface BalanceView {
  accountId: string;
  /** Null until `account.opened` has been seen (entries can overtake it); then only operators read it. */
  ownerId: string | null;
  /** Null until an entry or the `account.opened` names it (a limits change can come first); nobody reads it then. */
  currency: string | null;
  /** Settled money: the sum of the account's entries. */
  posted: bigint;
  /** Reserved by pending holds out of the account. */
  pending: bigint;
  /** How far below zero the account may go; `UNBOUNDED_OVERDRAFT` for settlement accounts. */
  overdraftLimit: bigint;
  /** ISO 8601 time of the limit held (the `account.limits_changed` or the opening); null while unknown. */
  limitsChangedAt: string | null;
  /** Sequence of the last entry applied; 0 before the first. */
  sequence: bigint;
  /** Bumped by every change of the row (entries, owner, limit): the cached copy's version. */
  revision: bigint;
  /** ISO 8601. */
  updatedAt: string;
}

/**
 * What the account can spend now: posted − pending + overdraft limit. A settlement account's limit
 * is unbounded (`UNBOUNDED_OVERDRAFT`) and is not added: its available is posted − pending.
 */
export function availableOf(view: Pick<BalanceView, 'posted' | 'pending' | 'overdraftLimit'>): bigint {
  const own = view.posted - view.pending;
  return view.overdraftLimit === UNBOUNDED_OVERDRAFT ? own : own + view.overdraftLimit;
}

export interface Reader {
  subject: string;
  operator: boolean;
}

/** Owners read their own accounts, operators read every account; nobody else learns it exists. */
export function canRead(view: Pick<BalanceView, 'ownerId'>, reader: Reader): boolean {
  if (reader.operator) return true;
  return view.ownerId !== null && view.ownerId === reader.subject;
}
