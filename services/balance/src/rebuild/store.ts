// SQL of drift checks and repairs: the projection as it stands (row and the history entry at its
// sequence), and rewriting history and rows from the ledger. The caller owns the transaction.
import type { Queryable } from '@wallet/kit';
import type { BalanceView } from '../domain/balance.ts';
import type { Entry } from '../domain/entry.ts';
import { SCHEMA, toView, type BalanceRow } from '../store/balances.ts';

/** A projected balance with what its history says at the row's sequence. */
export interface ProjectedBalance extends BalanceView {
  /** The history's entry at `sequence`; null when there is none (always null at sequence 0). */
  lastEntry: { balanceAfter: bigint; pendingAfter: bigint | null } | null;
}

interface ProjectedRow extends BalanceRow {
  entry_balance_after: bigint | null;
  entry_pending_after: bigint | null;
  has_entry: boolean;
}

/** Ids of projected balances after `afterId` (null: from the first), in id order. */
export async function projectedIdsAfter(q: Queryable, afterId: string | null, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ account_id: string }>(
    `SELECT account_id FROM ${SCHEMA}.balances WHERE $1::uuid IS NULL OR account_id > $1::uuid ORDER BY account_id LIMIT $2`,
    [afterId, limit],
  );
  return rows.map((r) => r.account_id);
}

/** The rows of these accounts and their history's entry at each row's sequence, in one statement (one snapshot). */
export async function readProjected(q: Queryable, accountIds: readonly string[]): Promise<Map<string, ProjectedBalance>> {
  const found = new Map<string, ProjectedBalance>();
  if (accountIds.length === 0) return found;
  const { rows } = await q.query<ProjectedRow>(
    `SELECT b.account_id, b.owner_id, b.currency, b.available, b.pending, b.overdraft_limit, b.limits_changed_at, b.sequence, b.revision, b.updated_at,
            e.balance_after AS entry_balance_after, e.pending_after AS entry_pending_after, e.account_id IS NOT NULL AS has_entry
     FROM ${SCHEMA}.balances b
     LEFT JOIN ${SCHEMA}.entries e ON e.account_id = b.account_id AND e.sequence = b.sequence
     WHERE b.account_id = ANY($1::uuid[])`,
    [accountIds],
  );
  for (const row of rows) {
    found.set(row.account_id, {
      ...toView(row),
      lastEntry: row.has_entry ? { balanceAfter: row.entry_balance_after!, pendingAfter: row.entry_pending_after } : null,
    });
  }
  return found;
}

/**
 * Writes the ledger's entries into the history: inserts the missing ones and overwrites the ones
 * that say something else; returns how many it wrote. Only for sequences the consumer has already
 * passed (at or below the row's sequence) or under the row's lock: the consumer inserts an entry
 * only when its row moves past it.
 */
export async function writeLedgerEntries(q: Queryable, entries: readonly Entry[]): Promise<number> {
  if (entries.length === 0) return 0;
  const { rowCount } = await q.query(
    `INSERT INTO ${SCHEMA}.entries AS h (account_id, sequence, amount, balance_after, pending_amount, pending_after, transfer_id, created_at)
     SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::uuid[], $8::timestamptz[])
     ON CONFLICT (account_id, sequence) DO UPDATE
       SET amount = EXCLUDED.amount, balance_after = EXCLUDED.balance_after, pending_amount = EXCLUDED.pending_amount,
           pending_after = EXCLUDED.pending_after, transfer_id = EXCLUDED.transfer_id, created_at = EXCLUDED.created_at
       WHERE (h.amount, h.balance_after, h.pending_amount, h.pending_after, h.transfer_id, h.created_at)
         IS DISTINCT FROM (EXCLUDED.amount, EXCLUDED.balance_after, EXCLUDED.pending_amount, EXCLUDED.pending_after, EXCLUDED.transfer_id, EXCLUDED.created_at)`,
    [
      entries.map((e) => e.accountId),
      entries.map((e) => e.sequence.toString()),
      entries.map((e) => e.amount.toString()),
      entries.map((e) => e.balanceAfter.toString()),
      entries.map((e) => e.pendingAmount.toString()),
      entries.map((e) => e.pendingAfter?.toString() ?? null),
      entries.map((e) => e.transferId),
      entries.map((e) => e.createdAt),
    ],
  );
  return rowCount;
}

/** Deletes history entries past `sequence` (the projection may not hold what the ledger has not written). */
export async function deleteEntriesAfter(q: Queryable, accountId: string, sequence: bigint): Promise<number> {
  const { rowCount } = await q.query(`DELETE FROM ${SCHEMA}.entries WHERE account_id = $1 AND sequence > $2`, [accountId, sequence.toString()]);
  return rowCount;
}

/** Overwrites one locked row. */
export async function rewriteBalance(q: Queryable, view: BalanceView): Promise<void> {
  const { rowCount } = await q.query(
    `UPDATE ${SCHEMA}.balances SET owner_id = $2, currency = $3, available = $4, pending = $5, overdraft_limit = $6, limits_changed_at = $7,
            sequence = $8, revision = $9, updated_at = $10
     WHERE account_id = $1`,
    [
      view.accountId,
      view.ownerId,
      view.currency,
      view.posted.toString(),
      view.pending.toString(),
      view.overdraftLimit.toString(),
      view.limitsChangedAt,
      view.sequence.toString(),
      view.revision.toString(),
      view.updatedAt,
    ],
  );
  if (rowCount !== 1) throw new Error(`rewriteBalance: account ${view.accountId} has no row`);
}
