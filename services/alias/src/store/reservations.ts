// Handles their owners left (reserved to them for a while) and the count of handle changes.
import type { Queryable } from '@wallet/kit';

/** Who a handle is reserved for right now, if anyone. */
export async function reservedFor(q: Queryable, value: string, now: Date): Promise<string | undefined> {
  const { rows } = await q.query<{ userId: string }>(
    `SELECT user_id AS "userId" FROM alias.handle_reservations WHERE value = $1 AND reserved_until > $2`,
    [value, now],
  );
  return rows[0]?.userId;
}

export async function reserveHandle(q: Queryable, reservation: { value: string; userId: string; displayValue: string; until: Date }): Promise<void> {
  await q.query(
    `INSERT INTO alias.handle_reservations (value, user_id, display_value, reserved_until) VALUES ($1, $2, $3, $4)
     ON CONFLICT (value) DO UPDATE SET user_id = EXCLUDED.user_id, display_value = EXCLUDED.display_value, reserved_until = EXCLUDED.reserved_until`,
    [reservation.value, reservation.userId, reservation.displayValue, reservation.until],
  );
}

/** Ends a reservation (its owner took the handle back, or it expired). */
export async function releaseHandle(q: Queryable, value: string): Promise<void> {
  await q.query(`DELETE FROM alias.handle_reservations WHERE value = $1`, [value]);
}

export async function countHandleChanges(q: Queryable, userId: string): Promise<number> {
  const { rows } = await q.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM alias.handle_changes WHERE user_id = $1`, [userId]);
  return Number(rows[0]!.n);
}

export async function recordHandleChange(q: Queryable, change: { userId: string; from: string; to: string; at: Date }): Promise<void> {
  await q.query(`INSERT INTO alias.handle_changes (user_id, from_value, to_value, changed_at) VALUES ($1, $2, $3, $4)`, [change.userId, change.from, change.to, change.at]);
}

/** The user's live reservations (for their alias list). */
export async function reservationsOf(q: Queryable, userId: string, now: Date): Promise<{ displayValue: string; reservedUntil: Date }[]> {
  const { rows } = await q.query<{ displayValue: string; reservedUntil: Date }>(
    `SELECT display_value AS "displayValue", reserved_until AS "reservedUntil" FROM alias.handle_reservations
      WHERE user_id = $1 AND reserved_until > $2 ORDER BY reserved_until`,
    [userId, now],
  );
  return rows;
}

export async function pruneReservations(q: Queryable, now: Date): Promise<number> {
  return (await q.query(`DELETE FROM alias.handle_reservations WHERE reserved_until <= $1`, [now])).rowCount;
}
