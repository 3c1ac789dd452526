// Balances at a moment and per UTC day, from the persisted entries (balance.entries). Each read is
// one statement, so it sees one snapshot.
import type { Queryable } from '@wallet/kit';
import type { DayTotals, LastEntry, Period } from '../domain/history.ts';
import { SCHEMA } from './balances.ts';

export interface AccountAt {
  ownerId: string | null;
  currency: string | null;
  /** The limit known now: entries do not record the limit of their time. */
  overdraftLimit: bigint;
  /** The last entry at or before the moment; undefined before the account's first entry. */
  entry?: { sequence: bigint; balanceAfter: bigint; pendingAfter: bigint | null; createdAt: string };
}

/** The account and its last entry written at or before `at` (highest sequence); undefined for an unknown account. */
export async function accountAt(q: Queryable, accountId: string, at: Date): Promise<AccountAt | undefined> {
  const { rows } = await q.query<{
    owner_id: string | null;
    currency: string | null;
    overdraft_limit: bigint;
    sequence: bigint | null;
    balance_after: bigint | null;
    pending_after: bigint | null;
    created_at: Date | null;
  }>(
    `SELECT b.owner_id, b.currency, b.overdraft_limit, e.sequence, e.balance_after, e.pending_after, e.created_at
     FROM ${SCHEMA}.balances b
     LEFT JOIN LATERAL (
       SELECT sequence, balance_after, pending_after, created_at FROM ${SCHEMA}.entries
       WHERE account_id = b.account_id AND created_at <= $2 ORDER BY sequence DESC LIMIT 1
     ) e ON true
     WHERE b.account_id = $1`,
    [accountId, at.toISOString()],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    ownerId: row.owner_id,
    currency: row.currency,
    overdraftLimit: row.overdraft_limit,
    ...(row.sequence !== null && row.balance_after !== null && row.created_at !== null
      ? { entry: { sequence: row.sequence, balanceAfter: row.balance_after, pendingAfter: row.pending_after, createdAt: row.created_at.toISOString() } }
      : {}),
  };
}

export interface PeriodEntries {
  /** The last entry written before the period; undefined when there is none. */
  before?: LastEntry;
  /** Per UTC day of the period that has entries: its highest-sequence entry and how many moved money. */
  days: DayTotals[];
}

export async function periodEntries(q: Queryable, accountId: string, { from, to }: Period): Promise<PeriodEntries> {
  const { rows } = await q.query<{ day: string | null; sequence: bigint; balance_after: bigint; entries: bigint }>(
    `WITH before AS (
       SELECT sequence, balance_after FROM ${SCHEMA}.entries
       WHERE account_id = $1 AND created_at < $2 ORDER BY sequence DESC LIMIT 1
     ), days AS (
       SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, max(sequence) AS sequence,
              count(*) FILTER (WHERE amount <> 0) AS entries
       FROM ${SCHEMA}.entries
       WHERE account_id = $1 AND created_at >= $2 AND created_at < $3
       GROUP BY 1
     )
     SELECT NULL::text AS day, sequence, balance_after, 0::bigint AS entries FROM before
     UNION ALL
     SELECT d.day, d.sequence, e.balance_after, d.entries
     FROM days d JOIN ${SCHEMA}.entries e ON e.account_id = $1 AND e.sequence = d.sequence`,
    [accountId, from.toISOString(), to.toISOString()],
  );
  const result: PeriodEntries = { days: [] };
  for (const row of rows) {
    if (row.day === null) result.before = { sequence: row.sequence, balanceAfter: row.balance_after };
    else result.days.push({ date: row.day, sequence: row.sequence, balanceAfter: row.balance_after, entries: Number(row.entries) });
  }
  return result;
}
