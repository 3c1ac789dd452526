// The ledger's SQL. Every function takes the Queryable it runs on, so callers choose the transaction.
import type { Queryable } from '@wallet/kit';
import type { LedgerAccount, Posting } from '../domain/transfer.ts';

const S = 'ledger';

interface AccountRow {
  id: string;
  owner_id: string;
  currency: string;
  type: 'user' | 'settlement';
  status: 'active' | 'frozen' | 'closed';
  overdraft_limit: bigint | null;
  balance: bigint;
  sequence: bigint;
}

const toAccount = (r: AccountRow): LedgerAccount => ({
  id: r.id,
  ownerId: r.owner_id,
  currency: r.currency,
  type: r.type,
  status: r.status,
  overdraftLimit: r.overdraft_limit,
  balance: r.balance,
  sequence: r.sequence,
});

const accountColumns = 'id, owner_id, currency, type, status, overdraft_limit, balance, sequence';

export async function findAccount(q: Queryable, id: string): Promise<LedgerAccount | undefined> {
  const { rows } = await q.query<AccountRow>(`SELECT ${accountColumns} FROM ${S}.accounts WHERE id = $1`, [id]);
  return rows[0] && toAccount(rows[0]);
}

/** Locks the accounts in id order (one global order: no deadlocks between transfers). */
export async function lockAccounts(q: Queryable, ids: readonly string[]): Promise<Map<string, LedgerAccount>> {
  const sorted = [...new Set(ids)].sort();
  const { rows } = await q.query<AccountRow>(`SELECT ${accountColumns} FROM ${S}.accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [sorted]);
  return new Map(rows.map((r) => [r.id, toAccount(r)]));
}

/** What the account service says about an account; the ledger adds balance and sequence. */
export type AccountFacts = Omit<LedgerAccount, 'balance' | 'sequence'>;

/** Records an account the ledger has not seen yet; a known account keeps its balance and sequence. */
export async function insertAccount(q: Queryable, a: AccountFacts): Promise<void> {
  await q.query(
    `INSERT INTO ${S}.accounts (id, owner_id, currency, type, status, overdraft_limit) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
    [a.id, a.ownerId, a.currency, a.type, a.status, a.overdraftLimit],
  );
}

/** Applies a status change unless a later one was applied already; false when the account is unknown. */
export async function setAccountStatus(q: Queryable, id: string, status: string, changedAt: Date): Promise<boolean> {
  const { rows } = await q.query(
    `UPDATE ${S}.accounts SET status = CASE WHEN status_changed_at IS NULL OR status_changed_at <= $3 THEN $2 ELSE status END,
            status_changed_at = GREATEST(status_changed_at, $3), updated_at = now()
     WHERE id = $1 RETURNING id`,
    [id, status, changedAt],
  );
  return rows.length === 1;
}

export interface TransferRecord {
  id: string;
  kind: 'transfer' | 'deposit' | 'withdrawal';
  fromAccountId: string;
  toAccountId: string;
  amount: bigint;
  currency: string;
  description: string | null;
  initiatedBy: string;
  createdAt: Date;
}

/** Writes a decided transfer: both balances, the transfer and its two self-auditing entries. */
export async function writeTransfer(q: Queryable, t: TransferRecord, postings: readonly [Posting, Posting]): Promise<void> {
  for (const p of postings) {
    const updated = await q.query(
      `UPDATE ${S}.accounts SET balance = $2, sequence = $3, updated_at = $4 WHERE id = $1 AND sequence = $3 - 1`,
      [p.accountId, p.balanceAfter, p.sequence, t.createdAt],
    );
    if (updated.rowCount !== 1) throw new Error(`account ${p.accountId} moved under its lock`);
  }
  await q.query(
    `INSERT INTO ${S}.transfers (id, kind, from_account_id, to_account_id, amount, currency, description, initiated_by, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [t.id, t.kind, t.fromAccountId, t.toAccountId, t.amount, t.currency, t.description, t.initiatedBy, t.createdAt],
  );
  await q.query(
    `INSERT INTO ${S}.entries (account_id, sequence, transfer_id, amount, balance_after, currency, created_at)
     VALUES ($1, $2, $7, $3, $4, $8, $9), ($5, $6, $7, $10, $11, $8, $9)`,
    [
      postings[0].accountId,
      postings[0].sequence,
      postings[0].amount,
      postings[0].balanceAfter,
      postings[1].accountId,
      postings[1].sequence,
      t.id,
      t.currency,
      t.createdAt,
      postings[1].amount,
      postings[1].balanceAfter,
    ],
  );
}

export interface StoredTransfer extends TransferRecord {
  /** The source account's entry for this transfer. */
  sourceBalanceAfter: bigint;
  sourceSequence: bigint;
}

interface TransferRow {
  id: string;
  kind: TransferRecord['kind'];
  from_account_id: string;
  to_account_id: string;
  amount: bigint;
  currency: string;
  description: string | null;
  initiated_by: string;
  created_at: Date;
  source_balance_after: bigint;
  source_sequence: bigint;
}

const transferSelect = `
  SELECT t.id, t.kind, t.from_account_id, t.to_account_id, t.amount, t.currency, t.description, t.initiated_by, t.created_at,
         s.balance_after AS source_balance_after, s.sequence AS source_sequence
  FROM ${S}.transfers t
  JOIN ${S}.entries s ON s.transfer_id = t.id AND s.account_id = t.from_account_id`;

const toTransfer = (r: TransferRow): StoredTransfer => ({
  id: r.id,
  kind: r.kind,
  fromAccountId: r.from_account_id,
  toAccountId: r.to_account_id,
  amount: r.amount,
  currency: r.currency.trim(),
  description: r.description,
  initiatedBy: r.initiated_by,
  createdAt: r.created_at,
  sourceBalanceAfter: r.source_balance_after,
  sourceSequence: r.source_sequence,
});

export async function getTransfer(q: Queryable, id: string): Promise<StoredTransfer | undefined> {
  const { rows } = await q.query<TransferRow>(`${transferSelect} WHERE t.id = $1`, [id]);
  return rows[0] && toTransfer(rows[0]);
}

/** An account's transfers, newest first, paged by the account's entry sequence. */
export async function listTransfers(q: Queryable, accountId: string, beforeSequence: bigint | null, limit: number) {
  const { rows } = await q.query<TransferRow & { entry_sequence: bigint }>(
    `SELECT x.*, e.sequence AS entry_sequence FROM ${S}.entries e
     JOIN LATERAL (${transferSelect} WHERE t.id = e.transfer_id) x ON true
     WHERE e.account_id = $1 AND ($2::bigint IS NULL OR e.sequence < $2)
     ORDER BY e.sequence DESC LIMIT $3`,
    [accountId, beforeSequence, limit],
  );
  return rows.map((r) => ({ transfer: toTransfer(r), entrySequence: r.entry_sequence }));
}

export interface EntryRow {
  account_id: string;
  sequence: bigint;
  transfer_id: string;
  amount: bigint;
  balance_after: bigint;
  currency: string;
  created_at: Date;
}

export async function entriesAfter(q: Queryable, accountId: string, afterSequence: bigint, limit: number): Promise<EntryRow[]> {
  const { rows } = await q.query<EntryRow>(
    `SELECT account_id, sequence, transfer_id, amount, balance_after, currency, created_at FROM ${S}.entries
     WHERE account_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3`,
    [accountId, afterSequence, limit],
  );
  return rows;
}

export interface IdempotencyRecord {
  fingerprint: string;
  status: number;
  body: unknown;
}

export async function findIdempotency(q: Queryable, caller: string, key: string): Promise<IdempotencyRecord | undefined> {
  const { rows } = await q.query<IdempotencyRecord>(`SELECT fingerprint, status, body FROM ${S}.idempotency WHERE caller = $1 AND key = $2`, [caller, key]);
  return rows[0];
}

/**
 * Claims the key inside the caller's transaction. A concurrent claim of the same key waits on the
 * unique index until the first commits, then finds the row taken: false.
 */
export async function claimIdempotency(q: Queryable, caller: string, key: string, fingerprint: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO ${S}.idempotency (caller, key, fingerprint, status, body) VALUES ($1, $2, $3, 0, 'null') ON CONFLICT DO NOTHING`,
    [caller, key, fingerprint],
  );
  return rowCount === 1;
}

export async function completeIdempotency(q: Queryable, caller: string, key: string, status: number, body: unknown): Promise<void> {
  await q.query(`UPDATE ${S}.idempotency SET status = $3, body = $4 WHERE caller = $1 AND key = $2`, [caller, key, status, JSON.stringify(body)]);
}

/** Ledger-wide totals per currency: the sum of all balances is zero (double entry). */
export async function totalsByCurrency(q: Queryable): Promise<{ currency: string; total: bigint }[]> {
  const { rows } = await q.query<{ currency: string; total: bigint }>(`SELECT currency, sum(balance)::bigint AS total FROM ${S}.accounts GROUP BY currency`);
  return rows.map((r) => ({ currency: r.currency.trim(), total: r.total }));
}
