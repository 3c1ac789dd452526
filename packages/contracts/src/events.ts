// Events that cross service boundaries. Amounts are digit strings (signed for entries).
export const eventTypes = {
  accountOpened: 'account.opened',
  accountStatusChanged: 'account.status_changed',
  transactionCreated: 'transaction.created',
} as const;

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
  createdAt: string;
}

export interface AccountStatusChanged {
  accountId: string;
  ownerId: string;
  status: AccountStatus;
  previousStatus: AccountStatus;
  changedAt: string;
}

export type TransferKind = 'transfer' | 'deposit' | 'withdrawal';

export interface LedgerEntry {
  accountId: string;
  transferId: string;
  currency: string;
  /** Signed: negative for a debit, positive for a credit. */
  amount: string;
  balanceAfter: string;
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
    createdAt: string;
  };
  entries: LedgerEntry[];
}
