// Holds, the transfers reversals act on, and the usage the transfer policy counts.
import type { Queryable } from '@wallet/kit';
import type { LedgerHold } from '../domain/hold.ts';
import { noUsage, type Usage } from '../domain/policy.ts';

const S = 'ledger';

interface HoldRow {
  id: string;
  status: LedgerHold['status'];
  from_account_id: string;
  to_account_id: string;
  amount: bigint;
  posted_amount: bigint;
  currency: string;
  expires_at: Date | null;
  description: string | null;
  reference: string | null;
  metadata: Record<string, string>;
  initiated_by: string;
  created_at: Date;
  finished_at: Date | null;
  transfer_id: string | null;
}

const holdColumns =
  'id, status, from_account_id, to_account_id, amount, posted_amount, currency, expires_at, description, reference, metadata, initiated_by, created_at, finished_at, transfer_id';

const toHold = (r: HoldRow): LedgerHold => ({
  id: r.id,
  status: r.status,
  fromAccountId: r.from_account_id,
  toAccountId: r.to_account_id,
  amount: r.amount,
  postedAmount: r.posted_amount,
  currency: r.currency.trim(),
  expiresAt: r.expires_at,
  description: r.description,
  reference: r.reference,
  metadata: r.metadata,
  initiatedBy: r.initiated_by,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
  transferId: r.transfer_id,
});

export async function getHold(q: Queryable, id: string): Promise<LedgerHold | undefined> {
  const { rows } = await q.query<HoldRow>(`SELECT ${holdColumns} FROM ${S}.holds WHERE id = $1`, [id]);
  return rows[0] && toHold(rows[0]);
}

/** Read after the holds' source accounts are locked: every change to a hold holds that lock too. */
export async function lockHolds(q: Queryable, ids: readonly string[]): Promise<Map<string, LedgerHold>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<HoldRow>(`SELECT ${holdColumns} FROM ${S}.holds WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [[...new Set(ids)]]);
  return new Map(rows.map((r) => [r.id, toHold(r)]));
}

/** An account's holds (as source or destination), newest first, paged by creation time. */
export async function listHolds(
  q: Queryable,
  filter: { accountId: string; status: string | null; reference: string | null; before: { at: Date; id: string } | null; limit: number },
): Promise<LedgerHold[]> {
  const { rows } = await q.query<HoldRow>(
    `SELECT ${holdColumns} FROM (
       SELECT * FROM ${S}.holds WHERE from_account_id = $1 UNION ALL SELECT * FROM ${S}.holds WHERE to_account_id = $1) h
     WHERE ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR reference = $3)
       AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $6`,
    [filter.accountId, filter.status, filter.reference, filter.before?.at.toISOString() ?? null, filter.before?.id ?? null, filter.limit],
  );
  return rows.map(toHold);
}

/** Pending holds whose time is up, oldest first. */
export async function dueHolds(q: Queryable, now: Date, limit: number): Promise<Pick<LedgerHold, 'id' | 'fromAccountId' | 'toAccountId'>[]> {
  const { rows } = await q.query<{ id: string; from_account_id: string; to_account_id: string }>(
    `SELECT id, from_account_id, to_account_id FROM ${S}.holds WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
    [now.toISOString(), limit],
  );
  return rows.map((r) => ({ id: r.id, fromAccountId: r.from_account_id, toAccountId: r.to_account_id }));
}

export interface ReversalTarget {
  id: string;
  kind: string;
  fromAccountId: string;
  toAccountId: string;
  amount: bigint;
  reversedAmount: bigint;
  currency: string;
}

/** Read after the accounts are locked: every reversal of a transfer debits its receiver, locked first. */
export async function lockReversalTargets(q: Queryable, ids: readonly string[]): Promise<Map<string, ReversalTarget>> {
  if (ids.length === 0) return new Map();
  const { rows } = await q.query<{ id: string; kind: string; from_account_id: string; to_account_id: string; amount: bigint; reversed_amount: bigint; currency: string }>(
    `SELECT id, kind, from_account_id, to_account_id, amount, reversed_amount, currency FROM ${S}.transfers WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
    [[...new Set(ids)]],
  );
  return new Map(
    rows.map((r) => [r.id, { id: r.id, kind: r.kind, fromAccountId: r.from_account_id, toAccountId: r.to_account_id, amount: r.amount, reversedAmount: r.reversed_amount, currency: r.currency.trim() }]),
  );
}

/**
 * What each account sent in the policy's windows: its transfers, and its holds that still reserve
 * or were posted (a posted hold counts once, at what it captured). Read under the accounts' locks.
 */
export async function usageOf(q: Queryable, accountIds: readonly string[], now: Date, velocitySeconds: number, lookBackSeconds: number): Promise<Map<string, Usage>> {
  const usage = new Map(accountIds.map((id) => [id, noUsage()]));
  if (accountIds.length === 0) return usage;
  const at = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();
  const { rows } = await q.query<{ account_id: string; day_amount: bigint; day_count: bigint; month_amount: bigint; month_count: bigint; recent_count: bigint }>(
    `SELECT account_id,
            coalesce(sum(amount) FILTER (WHERE at > $2), 0)::bigint AS day_amount, count(*) FILTER (WHERE at > $2) AS day_count,
            coalesce(sum(amount) FILTER (WHERE at > $3), 0)::bigint AS month_amount, count(*) FILTER (WHERE at > $3) AS month_count,
            count(*) FILTER (WHERE at > $4) AS recent_count
     FROM (
       SELECT from_account_id AS account_id, amount, created_at AS at FROM ${S}.transfers
       WHERE kind = 'transfer' AND from_account_id = ANY($1::uuid[]) AND created_at > $5
       UNION ALL
       SELECT from_account_id, CASE WHEN status = 'posted' THEN posted_amount ELSE amount END, created_at FROM ${S}.holds
       WHERE status IN ('pending', 'posted') AND from_account_id = ANY($1::uuid[]) AND created_at > $5
     ) x GROUP BY account_id`,
    [[...accountIds], at(86_400), at(30 * 86_400), at(velocitySeconds), at(lookBackSeconds)],
  );
  for (const r of rows) {
    usage.set(r.account_id, {
      dayAmount: r.day_amount,
      dayCount: Number(r.day_count),
      monthAmount: r.month_amount,
      monthCount: Number(r.month_count),
      recentCount: Number(r.recent_count),
    });
  }
  return usage;
}

/** The (from, to) pairs that have moved money before (a transfer, or a posted hold). */
export async function knownPayees(q: Queryable, pairs: readonly { from: string; to: string }[]): Promise<Set<string>> {
  if (pairs.length === 0) return new Set();
  const { rows } = await q.query<{ f: string; t: string }>(
    `SELECT p.f, p.t FROM unnest($1::uuid[], $2::uuid[]) AS p(f, t)
     WHERE EXISTS (SELECT 1 FROM ${S}.transfers x WHERE x.kind = 'transfer' AND x.from_account_id = p.f AND x.to_account_id = p.t)
        OR EXISTS (SELECT 1 FROM ${S}.holds h WHERE h.status = 'posted' AND h.from_account_id = p.f AND h.to_account_id = p.t)`,
    [pairs.map((p) => p.from), pairs.map((p) => p.to)],
  );
  return new Set(rows.map((r) => `${r.f}\n${r.t}`));
}
