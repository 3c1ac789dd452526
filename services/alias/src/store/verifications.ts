// Codes of pending e-mail and phone claims, and the log of codes sent (for resend limits).
import type { Queryable } from '@wallet/kit';

export interface StoredCode {
  codeHash: string;
  attempts: number;
  expiresAt: Date;
  sentAt: Date;
}

/** A new code for the claim replaces the previous one, with its attempts. */
export async function putCode(q: Queryable, aliasId: string, code: { codeHash: string; expiresAt: Date; sentAt: Date }): Promise<void> {
  await q.query(
    `INSERT INTO alias.alias_verifications (alias_id, code_hash, attempts, expires_at, sent_at) VALUES ($1, $2, 0, $3, $4)
     ON CONFLICT (alias_id) DO UPDATE SET code_hash = EXCLUDED.code_hash, attempts = 0, expires_at = EXCLUDED.expires_at, sent_at = EXCLUDED.sent_at`,
    [aliasId, code.codeHash, code.expiresAt, code.sentAt],
  );
}

export async function lockCode(q: Queryable, aliasId: string): Promise<StoredCode | undefined> {
  const { rows } = await q.query<StoredCode>(
    `SELECT code_hash AS "codeHash", attempts, expires_at AS "expiresAt", sent_at AS "sentAt" FROM alias.alias_verifications WHERE alias_id = $1 FOR UPDATE`,
    [aliasId],
  );
  return rows[0];
}

export async function spendAttempt(q: Queryable, aliasId: string): Promise<number> {
  const { rows } = await q.query<{ attempts: number }>(
    `UPDATE alias.alias_verifications SET attempts = attempts + 1 WHERE alias_id = $1 RETURNING attempts`,
    [aliasId],
  );
  return rows[0]?.attempts ?? 0;
}

/** When codes went to this address for this user since `since`. */
export async function sendsSince(q: Queryable, target: { userId: string; type: string; value: string }, since: Date): Promise<Date[]> {
  const { rows } = await q.query<{ sentAt: Date }>(
    `SELECT sent_at AS "sentAt" FROM alias.verification_sends WHERE user_id = $1 AND type = $2 AND value = $3 AND sent_at > $4 ORDER BY sent_at`,
    [target.userId, target.type, target.value, since],
  );
  return rows.map((r) => r.sentAt);
}

export async function recordSend(q: Queryable, target: { userId: string; type: string; value: string }, at: Date): Promise<void> {
  await q.query(`INSERT INTO alias.verification_sends (user_id, type, value, sent_at) VALUES ($1, $2, $3, $4)`, [target.userId, target.type, target.value, at]);
}

/** Forgets sends older than the limits look at. */
export async function pruneSends(q: Queryable, before: Date): Promise<number> {
  return (await q.query(`DELETE FROM alias.verification_sends WHERE sent_at < $1`, [before])).rowCount;
}
