// Failed-login counters, shared by every replica through PostgreSQL (see migration 003).
import type { Queryable } from '@wallet/kit';

export interface FailureRow {
  key: string;
  failures: number;
  lastFailureAt: Date | null;
}

/**
 * Locks the counters of these keys for the rest of the transaction (creating missing ones), in key
 * order so that two attempts never wait on each other in a cycle. Returns them with the database's
 * clock, read once the locks are held, which every replica shares.
 */
export async function lockFailureCounters(q: Queryable, keys: readonly string[]): Promise<{ rows: FailureRow[]; now: Date }> {
  const sorted = [...new Set(keys)].sort();
  await q.query(`INSERT INTO alias.login_failures (key) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT (key) DO NOTHING`, [sorted]);
  const { rows } = await q.query<FailureRow>(
    `SELECT key, failures, last_failure_at AS "lastFailureAt" FROM alias.login_failures WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE`,
    [sorted],
  );
  const { rows: clock } = await q.query<{ now: Date }>(`SELECT clock_timestamp() AS now`);
  return { rows, now: clock[0]!.now };
}

export async function setFailures(q: Queryable, key: string, failures: number, lastFailureAt: Date | null): Promise<void> {
  await q.query(`UPDATE alias.login_failures SET failures = $2, last_failure_at = $3 WHERE key = $1`, [key, failures, lastFailureAt]);
}

/** Gives back one counted failure (the attempt turned out not to be one). */
export async function giveBackFailure(q: Queryable, key: string): Promise<void> {
  await q.query(`UPDATE alias.login_failures SET failures = greatest(failures - 1, 0) WHERE key = $1`, [key]);
}

export async function clearFailures(q: Queryable, key: string): Promise<void> {
  await q.query(`DELETE FROM alias.login_failures WHERE key = $1`, [key]);
}

/** Forgets counters quiet for longer than the failure window. */
export async function sweepFailures(q: Queryable, windowSeconds: number): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM alias.login_failures WHERE last_failure_at IS NULL OR last_failure_at < now() - make_interval(secs => $1)`,
    [windowSeconds],
  );
  return rowCount;
}
