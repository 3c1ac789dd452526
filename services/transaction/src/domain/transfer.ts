// The ledger's decisions about moving money between two accounts. Pure: inputs in, a result or a
// refusal code out. Holds, posts, voids and reversals (hold.ts, reversal.ts) build on these.
import { AMOUNT_MAX } from '@wallet/money';

export interface LedgerAccount {
  id: string;
  ownerId: string;
  currency: string;
  type: 'user' | 'settlement';
  status: 'active' | 'frozen' | 'closed';
  /** null: may go negative without bound (settlement accounts). */
  overdraftLimit: bigint | null;
  /** The transfer policy's limits tier. */
  tier: string;
  /** Posted: the sum of the account's entries. */
  balance: bigint;
  /** Reserved by pending holds out of the account. */
  pending: bigint;
  sequence: bigint;
}

/** One entry: what it does to the posted balance and to the reserved amount, and the state after. */
export interface Posting {
  accountId: string;
  /** Signed: negative debits, positive credits; 0 when only the reservation changes. */
  amount: bigint;
  balanceAfter: bigint;
  /** Signed change of the reserved amount. */
  pendingAmount: bigint;
  pendingAfter: bigint;
  sequence: bigint;
}

export interface Refusal {
  ok: false;
  code: RefusalCode;
  detail: string;
  extra?: Record<string, unknown>;
}

export type Decision = { ok: true; debit: Posting; credit: Posting } | Refusal;

export type RefusalCode =
  | 'same_account'
  | 'account_frozen'
  | 'account_closed'
  | 'currency_mismatch'
  | 'insufficient_funds'
  | 'amount_too_large'
  | 'hold_not_pending'
  | 'hold_amount_exceeded'
  | 'transfer_not_reversible'
  | 'reversal_amount_exceeded'
  | 'limit_exceeded'
  | 'transfer_denied';

/** What the account may still spend: posted − reserved + overdraft; unbounded for settlement accounts. */
export function available(account: LedgerAccount): bigint | null {
  return account.overdraftLimit === null ? null : account.balance - account.pending + account.overdraftLimit;
}

export function refuse(code: RefusalCode, detail: string, extra?: Record<string, unknown>): Refusal {
  return { ok: false, code, detail, extra };
}

/** The account's next entry. */
export function posting(account: LedgerAccount, amount: bigint, pendingAmount = 0n): Posting {
  return {
    accountId: account.id,
    amount,
    balanceAfter: account.balance + amount,
    pendingAmount,
    pendingAfter: account.pending + pendingAmount,
    sequence: account.sequence + 1n,
  };
}

/** The account as it stands after one of its postings. */
export function afterPosting(account: LedgerAccount, p: Posting): LedgerAccount {
  return { ...account, balance: p.balanceAfter, pending: p.pendingAfter, sequence: p.sequence };
}

export function checkActive(account: LedgerAccount): Refusal | undefined {
  if (account.status === 'closed') return refuse('account_closed', `Account ${account.id} is closed`, { accountId: account.id });
  if (account.status === 'frozen') return refuse('account_frozen', `Account ${account.id} is frozen`, { accountId: account.id });
  return undefined;
}

/** May `amount` leave `from` for `to` (a transfer, or a hold reserving it)? */
export function checkMove(from: LedgerAccount, to: LedgerAccount, amount: bigint, currency: string): Refusal | undefined {
  if (amount <= 0n) throw new Error('amount must be positive'); // callers validate; this is a programmer error
  if (from.id === to.id) return refuse('same_account', 'The source and destination accounts are the same');
  const inactive = checkActive(from) ?? checkActive(to);
  if (inactive) return inactive;
  if (from.currency !== currency || to.currency !== currency) {
    return refuse('currency_mismatch', `The amount is in ${currency}; the accounts hold ${from.currency} and ${to.currency}`, {
      currency,
      fromCurrency: from.currency,
      toCurrency: to.currency,
    });
  }
  const spendable = available(from);
  if (spendable !== null && amount > spendable) {
    const shown = spendable < 0n ? 0n : spendable;
    return refuse('insufficient_funds', `The account has ${shown} available`, { available: shown.toString(), currency });
  }
  if (to.balance + amount > AMOUNT_MAX || from.balance - amount < -AMOUNT_MAX || from.pending + amount > AMOUNT_MAX) {
    return refuse('amount_too_large', 'The balance after this would be out of range');
  }
  return undefined;
}

/** Debit and credit of one amount; the pair sums to zero by construction, and is checked. */
export function pair(from: LedgerAccount, to: LedgerAccount, amount: bigint, fromPendingAmount = 0n): { debit: Posting; credit: Posting } {
  const debit = posting(from, -amount, fromPendingAmount);
  const credit = posting(to, amount);
  // A transfer moves money, it never makes or destroys it.
  if (debit.amount + credit.amount !== 0n) throw new Error('unbalanced postings');
  return { debit, credit };
}

export function decideTransfer(from: LedgerAccount, to: LedgerAccount, amount: bigint, currency: string): Decision {
  const refusal = checkMove(from, to, amount, currency);
  if (refusal) return refusal;
  return { ok: true, ...pair(from, to, amount) };
}
