// The balance tables. Small, visible SQL; the caller owns the transaction.
import type { Queryable } from '@wallet/kit';
import type { RecordedEntry } from '../domain/apply.ts';
import type { BalanceView } from '../domain/balance.ts';
import { entryKey } from '../domain/batch.ts';
import type { Entry } from '../domain/entry.ts';

export const SCHEMA = 'balance';

export interface BalanceRow {
  account_id: string;
  owner_id: string | null;
  currency: string | null;
  /** The posted balance (the column's name predates holds). */
  available: bigint;
  pending: bigint;
  overdraft_limit: bigint;
  limits_changed_at: Date | null;
  sequence: bigint;
  revision: bigint;
  updated_at: Date;
}

const columns = 'account_id, owner_id, currency, available, pending, overdraft_limit, limits_changed_at, sequence, revision, updated_at';

export function toView(row: BalanceRow): BalanceView {
  return {
    accountId: row.account_id,
    ownerId: row.owner_id,
    currency: row.currency,
    posted: row.available,
    pending: row.pending,
    overdraftLimit: row.overdraft_limit,
    limitsChangedAt: row.limits_changed_at?.toISOString() ?? null,
    sequence: row.sequence,
    revision: row.revision,
    updatedAt: row.updated_at.toISOString(),
  };
}

export async function findBalance(q: Queryable, accountId: string): Promise<BalanceView | undefined> {
  const { rows } = await q.query<BalanceRow>(`SELECT ${columns} FROM ${SCHEMA}.balances WHERE account_id = $1`, [accountId]);
  return rows[0] && toView(rows[0]);
}

/**
 * Inserts the rows missing among `rows` (zero balances, in account-id order so that two writers
 * inserting the same new accounts wait rather than deadlock); returns the ids it inserted.
 */
export async function insertMissingBalances(q: Queryable, rows: readonly BalanceView[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const { rows: inserted } = await q.query<{ account_id: string }>(
    `INSERT INTO ${SCHEMA}.balances (account_id, owner_id, currency, updated_at)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) ORDER BY 1
     ON CONFLICT (account_id) DO NOTHING
     RETURNING account_id`,
    [rows.map((r) => r.accountId), rows.map((r) => r.ownerId), rows.map((r) => r.currency), rows.map((r) => r.updatedAt)],
  );
  return new Set(inserted.map((r) => r.account_id));
}

/** Locks the rows of these accounts, in account-id order, until the transaction ends. */
export async function lockBalances(q: Queryable, accountIds: readonly string[]): Promise<BalanceView[]> {
  if (accountIds.length === 0) return [];
  const { rows } = await q.query<BalanceRow>(
    `SELECT ${columns} FROM ${SCHEMA}.balances WHERE account_id = ANY($1::uuid[]) ORDER BY account_id FOR UPDATE`,
    [accountIds],
  );
  return rows.map(toView);
}

/** Removes rows this transaction inserted and then did not use (their events were not applied). */
export async function deleteBalances(q: Queryable, accountIds: readonly string[]): Promise<void> {
  if (accountIds.length === 0) return;
  await q.query(`DELETE FROM ${SCHEMA}.balances WHERE account_id = ANY($1::uuid[])`, [accountIds]);
}

/** What the history says of these (account, sequence) pairs, keyed by `entryKey`. */
export async function findRecordedEntries(q: Queryable, keys: ReadonlyArray<{ accountId: string; sequence: bigint }>): Promise<Map<string, RecordedEntry>> {
  const recorded = new Map<string, RecordedEntry>();
  if (keys.length === 0) return recorded;
  const { rows } = await q.query<{
    account_id: string;
    sequence: bigint;
    amount: bigint;
    balance_after: bigint;
    pending_amount: bigint | null;
    pending_after: bigint | null;
    transfer_id: string | null;
  }>(
    `SELECT e.account_id, e.sequence, e.amount, e.balance_after, e.pending_amount, e.pending_after, e.transfer_id
     FROM unnest($1::uuid[], $2::bigint[]) AS k(account_id, sequence)
     JOIN ${SCHEMA}.entries e USING (account_id, sequence)`,
    [keys.map((k) => k.accountId), keys.map((k) => k.sequence.toString())],
  );
  for (const row of rows) {
    recorded.set(entryKey(row.account_id, row.sequence), {
      amount: row.amount,
      balanceAfter: row.balance_after,
      pendingAmount: row.pending_amount,
      pendingAfter: row.pending_after,
      transferId: row.transfer_id,
    });
  }
  return recorded;
}

/**
 * Writes a batch's outcome in one round trip: the new state of the locked rows (one UPDATE from
 * unnest) and the applied entries (one INSERT from unnest), as two data-modifying CTEs of one statement.
 */
export async function saveBatch(q: Queryable, views: readonly BalanceView[], entries: readonly Entry[]): Promise<void> {
  if (views.length === 0 && entries.length === 0) return;
  const { rows } = await q.query<{ balances: bigint; entries: bigint }>(
    `WITH moved AS (
       UPDATE ${SCHEMA}.balances AS b
       SET owner_id = u.owner_id, currency = u.currency, available = u.posted, pending = u.pending, overdraft_limit = u.overdraft_limit,
           limits_changed_at = u.limits_changed_at, sequence = u.sequence, revision = u.revision, updated_at = u.updated_at
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::timestamptz[], $8::bigint[], $9::bigint[], $10::timestamptz[])
         AS u(account_id, owner_id, currency, posted, pending, overdraft_limit, limits_changed_at, sequence, revision, updated_at)
       WHERE b.account_id = u.account_id
       RETURNING 1
     ), appended AS (
       INSERT INTO ${SCHEMA}.entries (account_id, sequence, amount, balance_after, pending_amount, pending_after, transfer_id, created_at)
       SELECT * FROM unnest($11::uuid[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[], $17::uuid[], $18::timestamptz[])
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM moved) AS balances, (SELECT count(*) FROM appended) AS entries`,
    [
      views.map((v) => v.accountId),
      views.map((v) => v.ownerId),
      views.map((v) => v.currency),
      views.map((v) => v.posted.toString()),
      views.map((v) => v.pending.toString()),
      views.map((v) => v.overdraftLimit.toString()),
      views.map((v) => v.limitsChangedAt),
      views.map((v) => v.sequence.toString()),
      views.map((v) => v.revision.toString()),
      views.map((v) => v.updatedAt),
      entries.map((e) => e.accountId),
      entries.map((e) => e.sequence.toString()),
      entries.map((e) => e.amount.toString()),
      entries.map((e) => e.balanceAfter.toString()),
      entries.map((e) => e.pendingAmount.toString()),
      // planEntries fills in every applied entry's reservation after it.
      entries.map((e) => e.pendingAfter?.toString() ?? null),
      entries.map((e) => e.transferId),
      entries.map((e) => e.createdAt),
    ],
  );
  // Pair assertion: every row was locked by this transaction, so every one of them is there.
  const written = rows[0];
  if (written?.balances !== BigInt(views.length) || written.entries !== BigInt(entries.length)) {
    throw new Error(`saveBatch: ${written?.balances} of ${views.length} balances and ${written?.entries} of ${entries.length} entries written`);
  }
}

export async function countEntries(q: Queryable, accountId: string): Promise<number> {
  const { rows } = await q.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM ${SCHEMA}.entries WHERE account_id = $1`, [accountId]);
  return Number(rows[0]?.n ?? 0n);
}
