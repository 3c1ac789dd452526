// The ledger's one decision: may this amount move from one account to another, and what are the
// balances after. Pure: inputs in, a result or a refusal code out.
import { AMOUNT_MAX } from '@wallet/money';

export interface LedgerAccount {
  id: string;
  ownerId: string;
  currency: string;
  type: 'user' | 'settlement';
  status: 'active' | 'frozen' | 'closed';
  /** null: may go negative without bound (settlement accounts). */
  overdraftLimit: bigint | null;
  balance: bigint;
  sequence: bigint;
}

export interface Posting {
  accountId: string;
  /** Signed: negative debits, positive credits. */
  amount: bigint;
  balanceAfter: bigint;
  sequence: bigint;
}

export type Decision =
  | { ok: true; debit: Posting; credit: Posting }
  | { ok: false; code: RefusalCode; detail: string; extra?: Record<string, unknown> };

export type RefusalCode = 'same_account' | 'account_frozen' | 'account_closed' | 'currency_mismatch' | 'insufficient_funds' | 'amount_too_large';

/** What the account may still spend: its balance plus any overdraft; unbounded for settlement accounts. */
export function available(account: LedgerAccount): bigint | null {
  return account.overdraftLimit === null ? null : account.balance + account.overdraftLimit;
}

export function decideTransfer(from: LedgerAccount, to: LedgerAccount, amount: bigint, currency: string): Decision {
  if (amount <= 0n) throw new Error('amount must be positive'); // callers validate; this is a programmer error
  if (from.id === to.id) return refuse('same_account', 'The source and destination accounts are the same');
  for (const account of [from, to]) {
    if (account.status === 'closed') return refuse('account_closed', `Account ${account.id} is closed`, { accountId: account.id });
    if (account.status === 'frozen') return refuse('account_frozen', `Account ${account.id} is frozen`, { accountId: account.id });
  }
  if (from.currency !== currency || to.currency !== currency) {
    return refuse('currency_mismatch', `The transfer is in ${currency}; the accounts hold ${from.currency} and ${to.currency}`, {
      currency,
      fromCurrency: from.currency,
      toCurrency: to.currency,
    });
  }
  const spendable = available(from);
  if (spendable !== null && amount > spendable) {
    return refuse('insufficient_funds', `The account has ${spendable < 0n ? 0n : spendable} available`, {
      available: (spendable < 0n ? 0n : spendable).toString(),
      currency,
    });
  }
  const fromAfter = from.balance - amount;
  const toAfter = to.balance + amount;
  if (toAfter > AMOUNT_MAX || fromAfter < -AMOUNT_MAX) return refuse('amount_too_large', 'The balance after this transfer would be out of range');
  const debit = { accountId: from.id, amount: -amount, balanceAfter: fromAfter, sequence: from.sequence + 1n };
  const credit = { accountId: to.id, amount, balanceAfter: toAfter, sequence: to.sequence + 1n };
  // Pair assertion: a transfer moves money, it never makes or destroys it.
  if (debit.amount + credit.amount !== 0n) throw new Error('unbalanced postings');
  return { ok: true, debit, credit };
}

function refuse(code: RefusalCode, detail: string, extra?: Record<string, unknown>): Decision {
  return { ok: false, code, detail, extra };
}
