// TOTP secrets (encrypted), recovery codes (hashed) and the service's own generated secrets.
import type { Queryable } from '@wallet/kit';

export interface TotpRow {
  secretEncrypted: string;
  confirmedAt: Date | null;
  lastStep: bigint | null;
}

export async function findTotp(q: Queryable, userId: string, forUpdate = false): Promise<TotpRow | undefined> {
  const { rows } = await q.query<TotpRow>(
    `SELECT secret_encrypted AS "secretEncrypted", confirmed_at AS "confirmedAt", last_step AS "lastStep"
       FROM alias.totp_credentials WHERE user_id = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [userId],
  );
  return rows[0];
}

/** A new pending enrolment replaces an earlier pending one, never a confirmed one. */
export async function upsertPendingTotp(q: Queryable, userId: string, secretEncrypted: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO alias.totp_credentials (user_id, secret_encrypted) VALUES ($1, $2)
     ON CONFLICT (user_id) DO UPDATE SET secret_encrypted = EXCLUDED.secret_encrypted, created_at = now(), last_step = NULL
       WHERE alias.totp_credentials.confirmed_at IS NULL`,
    [userId, secretEncrypted],
  );
  return rowCount > 0;
}

export async function confirmTotp(q: Queryable, userId: string, step: number): Promise<void> {
  await q.query(`UPDATE alias.totp_credentials SET confirmed_at = now(), last_step = $2 WHERE user_id = $1`, [userId, step]);
}

export async function setTotpLastStep(q: Queryable, userId: string, step: number): Promise<void> {
  await q.query(`UPDATE alias.totp_credentials SET last_step = $2 WHERE user_id = $1`, [userId, step]);
}

export async function deleteTotp(q: Queryable, userId: string): Promise<void> {
  await q.query(`DELETE FROM alias.totp_credentials WHERE user_id = $1`, [userId]);
  await q.query(`DELETE FROM alias.recovery_codes WHERE user_id = $1`, [userId]);
}

export async function replaceRecoveryCodes(q: Queryable, userId: string, codeHashes: readonly string[]): Promise<void> {
  await q.query(`DELETE FROM alias.recovery_codes WHERE user_id = $1`, [userId]);
  await q.query(`INSERT INTO alias.recovery_codes (user_id, code_hash) SELECT $1, unnest($2::text[])`, [userId, codeHashes]);
}

/** Spends the code if it is the user's and unused; true when it was. */
export async function spendRecoveryCode(q: Queryable, userId: string, codeHash: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE alias.recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`,
    [userId, codeHash],
  );
  return rowCount > 0;
}

export async function countUnusedRecoveryCodes(q: Queryable, userId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM alias.recovery_codes WHERE user_id = $1 AND used_at IS NULL`, [userId]);
  return rows[0]?.n ?? 0;
}

/** The stored value of a generated secret, creating it with `create()` if there is none (first writer wins). */
export async function ensureServiceSecret(q: Queryable, name: string, create: () => string): Promise<string> {
  await q.query(`INSERT INTO alias.service_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [name, create()]);
  const { rows } = await q.query<{ value: string }>(`SELECT value FROM alias.service_secrets WHERE name = $1`, [name]);
  return rows[0]!.value;
}
