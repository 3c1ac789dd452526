// The balance tables. Small, visible SQL; the caller owns the transaction.
import type { Queryable } from '@wallet/kit';
import type { BalanceView } from '../domain/balance.ts';
import type { Entry } from '../domain/entry.ts';

export const SCHEMA = 'balance';

interface BalanceRow {
  account_id: string;
  owner_id: string | null;
  currency: string;
  available: bigint;
  pending: bigint;
  sequence: bigint;
  updated_at: Date;
}

const columns = 'account_id, owner_id, currency, available, pending, sequence, updated_at';

function toView(row: BalanceRow): BalanceView {
  return {
    accountId: row.account_id,
    ownerId: row.owner_id,
    currency: row.currency,
    available: row.available,
    pending: row.pending,
    sequence: row.sequence,
    updatedAt: row.updated_at.toISOString(),
  };
}

export async function findBalance(q: Queryable, accountId: string): Promise<BalanceView | undefined> {
  const { rows } = await q.query<BalanceRow>(`SELECT ${columns} FROM ${SCHEMA}.balances WHERE account_id = $1`, [accountId]);
  return rows[0] && toView(rows[0]);
}

export interface NewBalance {
  accountId: string;
  ownerId: string | null;
  currency: string;
  updatedAt: string;
}

/** Creates the row at zero if absent, then locks it until the transaction ends. */
export async function lockOrCreateBalance(q: Queryable, init: NewBalance): Promise<BalanceView> {
  await q.query(
    `INSERT INTO ${SCHEMA}.balances (account_id, owner_id, currency, updated_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (account_id) DO NOTHING`,
    [init.accountId, init.ownerId, init.currency, init.updatedAt],
  );
  const { rows } = await q.query<BalanceRow>(`SELECT ${columns} FROM ${SCHEMA}.balances WHERE account_id = $1 FOR UPDATE`, [init.accountId]);
  if (!rows[0]) throw new Error(`balance row of ${init.accountId} vanished inside its transaction`);
  return toView(rows[0]);
}

export async function setOwner(q: Queryable, accountId: string, ownerId: string): Promise<void> {
  await q.query(`UPDATE ${SCHEMA}.balances SET owner_id = $2 WHERE account_id = $1`, [accountId, ownerId]);
}

/** Appends applied entries to the history and moves the balance to the last one, in the caller's transaction. */
export async function recordEntries(q: Queryable, accountId: string, entries: readonly Entry[]): Promise<void> {
  const last = entries.at(-1);
  if (!last) return;
  await q.query(
    `INSERT INTO ${SCHEMA}.entries (account_id, sequence, amount, balance_after, transfer_id, created_at)
     SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::uuid[], $6::timestamptz[])`,
    [
      accountId,
      entries.map((e) => e.sequence.toString()),
      entries.map((e) => e.amount.toString()),
      entries.map((e) => e.balanceAfter.toString()),
      entries.map((e) => e.transferId),
      entries.map((e) => e.createdAt),
    ],
  );
  await q.query(`UPDATE ${SCHEMA}.balances SET available = $2, sequence = $3, updated_at = $4 WHERE account_id = $1`, [
    accountId,
    last.balanceAfter,
    last.sequence,
    last.createdAt,
  ]);
}

export async function countEntries(q: Queryable, accountId: string): Promise<number> {
  const { rows } = await q.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM ${SCHEMA}.entries WHERE account_id = $1`, [accountId]);
  return Number(rows[0]?.n ?? 0n);
}
