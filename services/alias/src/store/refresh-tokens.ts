// Refresh-token families and their tokens, stored as SHA-256 hashes (hex).
import type { Queryable } from '@wallet/kit';

export async function insertFamily(q: Queryable, family: { id: string; userId: string; scope: string; expiresAt: Date }): Promise<void> {
  await q.query(`INSERT INTO alias.refresh_token_families (id, user_id, scope, expires_at) VALUES ($1, $2, $3, $4)`, [
    family.id,
    family.userId,
    family.scope,
    family.expiresAt,
  ]);
}

export async function insertRefreshToken(q: Queryable, tokenHash: string, familyId: string): Promise<void> {
  await q.query(`INSERT INTO alias.refresh_tokens (token_hash, family_id) VALUES ($1, $2)`, [tokenHash, familyId]);
}

export interface RefreshTokenRecord {
  familyId: string;
  userId: string;
  scope: string;
  spentAt: Date | null;
  familyRevokedAt: Date | null;
  familyExpiresAt: Date;
}

/** Locks the token and its family until the transaction ends, so two uses cannot both rotate. */
export async function findRefreshTokenForUpdate(q: Queryable, tokenHash: string): Promise<RefreshTokenRecord | undefined> {
  const { rows } = await q.query<RefreshTokenRecord>(
    `SELECT f.id AS "familyId", f.user_id AS "userId", f.scope, t.spent_at AS "spentAt",
            f.revoked_at AS "familyRevokedAt", f.expires_at AS "familyExpiresAt"
       FROM alias.refresh_tokens t JOIN alias.refresh_token_families f ON f.id = t.family_id
      WHERE t.token_hash = $1
      FOR UPDATE`,
    [tokenHash],
  );
  return rows[0];
}

export async function spendRefreshToken(q: Queryable, tokenHash: string): Promise<void> {
  await q.query(`UPDATE alias.refresh_tokens SET spent_at = now() WHERE token_hash = $1`, [tokenHash]);
}

export async function revokeFamily(q: Queryable, familyId: string, reason: string): Promise<void> {
  await q.query(`UPDATE alias.refresh_token_families SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL`, [
    familyId,
    reason,
  ]);
}
