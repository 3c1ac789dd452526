// The alerts table, and the entries an evaluation walks. Small, visible SQL; the caller owns the
// transaction where one is needed.
import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '@wallet/kit';
import { initialState, type AlertProgress, type AlertState } from '../domain/alerts.ts';
import { availableOf } from '../domain/balance.ts';
import { findBalance, SCHEMA } from './balances.ts';

export interface Alert extends AlertProgress {
  id: string;
  accountId: string;
  ownerId: string;
  below: bigint;
  /** The balance row's revision when last evaluated. */
  checkedRevision: bigint;
  /** Crossings so far (events published). */
  triggerCount: number;
  /** ISO 8601 time of the last crossing; null before the first. */
  lastTriggeredAt: string | null;
  createdAt: string;
}

interface AlertRow {
  id: string;
  account_id: string;
  owner_id: string;
  below: bigint;
  state: AlertState;
  checked_sequence: bigint;
  checked_available: bigint;
  checked_revision: bigint;
  trigger_count: number;
  last_triggered_at: Date | null;
  created_at: Date;
}

const columns = 'id, account_id, owner_id, below, state, checked_sequence, checked_available, checked_revision, trigger_count, last_triggered_at, created_at';

function toAlert(row: AlertRow): Alert {
  return {
    id: row.id,
    accountId: row.account_id,
    ownerId: row.owner_id,
    below: row.below,
    state: row.state,
    checkedSequence: row.checked_sequence,
    checkedAvailable: row.checked_available,
    checkedRevision: row.checked_revision,
    triggerCount: row.trigger_count,
    lastTriggeredAt: row.last_triggered_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}

export type CreateAlertResult = { ok: true; alert: Alert } | { ok: false; reason: 'limit_reached' | 'no_balance' };

/**
 * Adds an alert to an account, at most `perAccountMax` per account (an advisory lock per account
 * makes two racing creations count one after the other). It starts from the balance as it stands:
 * already under the threshold, it starts triggered (nothing fires until the balance has come back
 * and crossed again).
 */
export async function createAlert(db: Db, accountId: string, below: bigint, perAccountMax: number): Promise<CreateAlertResult> {
  return db.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`balance-alerts:${accountId}`]);
    const { rows } = await q.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM ${SCHEMA}.alerts WHERE account_id = $1`, [accountId]);
    if (Number(rows[0]?.n ?? 0n) >= perAccountMax) return { ok: false, reason: 'limit_reached' } as const;
    const balance = await findBalance(q, accountId);
    if (!balance?.ownerId || balance.currency === null) return { ok: false, reason: 'no_balance' } as const;
    const available = availableOf(balance);
    const { rows: inserted } = await q.query<AlertRow>(
      `INSERT INTO ${SCHEMA}.alerts (id, account_id, owner_id, below, state, checked_sequence, checked_available, checked_revision)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${columns}`,
      [randomUUID(), accountId, balance.ownerId, below.toString(), initialState(available, below), balance.sequence.toString(), available.toString(), balance.revision.toString()],
    );
    return { ok: true, alert: toAlert(inserted[0]!) } as const;
  });
}

export async function listAlerts(q: Queryable, accountId: string): Promise<Alert[]> {
  const { rows } = await q.query<AlertRow>(`SELECT ${columns} FROM ${SCHEMA}.alerts WHERE account_id = $1 ORDER BY created_at, id`, [accountId]);
  return rows.map(toAlert);
}

export async function deleteAlert(q: Queryable, accountId: string, alertId: string): Promise<boolean> {
  const { rowCount } = await q.query(`DELETE FROM ${SCHEMA}.alerts WHERE account_id = $1 AND id = $2`, [accountId, alertId]);
  return rowCount > 0;
}

/** Locks an account's alerts, in id order, until the transaction ends. */
export async function lockAlerts(q: Queryable, accountId: string): Promise<Alert[]> {
  const { rows } = await q.query<AlertRow>(`SELECT ${columns} FROM ${SCHEMA}.alerts WHERE account_id = $1 ORDER BY id FOR UPDATE`, [accountId]);
  return rows.map(toAlert);
}

export interface StoredEntry {
  sequence: bigint;
  balanceAfter: bigint;
  pendingAfter: bigint | null;
  createdAt: string;
}

/** The account's entries with afterSequence < sequence ≤ upToSequence, in sequence order, at most `limit`. */
export async function entriesBetween(q: Queryable, accountId: string, afterSequence: bigint, upToSequence: bigint, limit: number): Promise<StoredEntry[]> {
  const { rows } = await q.query<{ sequence: bigint; balance_after: bigint; pending_after: bigint | null; created_at: Date }>(
    `SELECT sequence, balance_after, pending_after, created_at FROM ${SCHEMA}.entries
     WHERE account_id = $1 AND sequence > $2 AND sequence <= $3 ORDER BY sequence LIMIT $4`,
    [accountId, afterSequence.toString(), upToSequence.toString(), limit],
  );
  return rows.map((r) => ({ sequence: r.sequence, balanceAfter: r.balance_after, pendingAfter: r.pending_after, createdAt: r.created_at.toISOString() }));
}

export interface AlertUpdate extends AlertProgress {
  id: string;
  checkedRevision: bigint;
  /** Crossings found by this evaluation. */
  triggered: number;
  lastTriggeredAt: string | null;
}

/** Writes the evaluations of locked alerts, in one statement. */
export async function saveAlerts(q: Queryable, updates: readonly AlertUpdate[]): Promise<void> {
  if (updates.length === 0) return;
  await q.query(
    `UPDATE ${SCHEMA}.alerts AS a
     SET state = u.state, checked_sequence = u.checked_sequence, checked_available = u.checked_available, checked_revision = u.checked_revision,
         trigger_count = a.trigger_count + u.triggered, last_triggered_at = coalesce(u.last_triggered_at, a.last_triggered_at)
     FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::integer[], $7::timestamptz[])
       AS u(id, state, checked_sequence, checked_available, checked_revision, triggered, last_triggered_at)
     WHERE a.id = u.id`,
    [
      updates.map((u) => u.id),
      updates.map((u) => u.state),
      updates.map((u) => u.checkedSequence.toString()),
      updates.map((u) => u.checkedAvailable.toString()),
      updates.map((u) => u.checkedRevision.toString()),
      updates.map((u) => u.triggered),
      updates.map((u) => u.lastTriggeredAt),
    ],
  );
}

/**
 * Accounts with an alert whose balance row changed since it was last evaluated: among `accountIds`,
 * or any (the sweep), at most `limit`.
 */
export async function accountsToEvaluate(q: Queryable, accountIds: readonly string[] | undefined, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ account_id: string }>(
    `SELECT DISTINCT a.account_id FROM ${SCHEMA}.alerts a JOIN ${SCHEMA}.balances b ON b.account_id = a.account_id
     WHERE a.checked_revision <> b.revision ${accountIds ? 'AND a.account_id = ANY($2::uuid[])' : ''}
     LIMIT $1`,
    accountIds ? [limit, accountIds] : [limit],
  );
  return rows.map((r) => r.account_id);
}
