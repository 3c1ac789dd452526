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

/** The token without locking it: for introspection and revocation, which change nothing but the family. */
export async function findRefreshToken(q: Queryable, tokenHash: string): Promise<(RefreshTokenRecord & { createdAt: Date }) | undefined> {
  const { rows } = await q.query<RefreshTokenRecord & { createdAt: Date }>(
    `SELECT f.id AS "familyId", f.user_id AS "userId", f.scope, t.spent_at AS "spentAt", t.created_at AS "createdAt",
            f.revoked_at AS "familyRevokedAt", f.expires_at AS "familyExpiresAt"
       FROM alias.refresh_tokens t JOIN alias.refresh_token_families f ON f.id = t.family_id
      WHERE t.token_hash = $1`,
    [tokenHash],
  );
  return rows[0];
}

export async function touchFamily(q: Queryable, familyId: string): Promise<void> {
  await q.query(`UPDATE alias.refresh_token_families SET last_used_at = now() WHERE id = $1`, [familyId]);
}

/** Ends every live session of the user (logout everywhere, password change); returns how many. */
export async function revokeFamiliesOfUser(q: Queryable, userId: string, reason: string): Promise<number> {
  const { rowCount } = await q.query(
    `UPDATE alias.refresh_token_families SET revoked_at = now(), revoked_reason = $2
      WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()`,
    [userId, reason],
  );
  return rowCount;
}

export interface SessionRow {
  id: string;
  scope: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date;
}

export const sessionsListedMax = 100;

/** The user's live sessions, newest first. */
export async function listLiveFamilies(q: Queryable, userId: string): Promise<SessionRow[]> {
  const { rows } = await q.query<SessionRow>(
    `SELECT id, scope, created_at AS "createdAt", last_used_at AS "lastUsedAt", expires_at AS "expiresAt"
       FROM alias.refresh_token_families
      WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
      ORDER BY created_at DESC, id LIMIT $2`,
    [userId, sessionsListedMax],
  );
  return rows;
}

/** Deletes families that ended (revoked or expired) more than `keepSeconds` ago, with their tokens. */
export async function sweepEndedFamilies(q: Queryable, keepSeconds: number): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM alias.refresh_token_families
      WHERE least(coalesce(revoked_at, expires_at), expires_at) < now() - make_interval(secs => $1)`,
    [keepSeconds],
  );
  return rowCount;
}
