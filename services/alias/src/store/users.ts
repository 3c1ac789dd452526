// Users and their aliases: small SQL, one statement per question.
import type { Queryable } from '@wallet/kit';
import type { AliasType } from '../domain/alias.ts';

export interface UserRow {
  id: string;
  handle: string;
  displayName: string;
  createdAt: Date;
}

const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === UNIQUE_VIOLATION;
}

/** The user and their handle alias, verified at once: call inside a transaction. */
export async function insertUserWithHandle(
  q: Queryable,
  user: { id: string; aliasId: string; handle: string; handleCanonical: string; displayName: string; passwordHash: string },
): Promise<UserRow> {
  const { rows } = await q.query<UserRow>(
    `INSERT INTO alias.users (id, handle, display_name, password_hash) VALUES ($1, $2, $3, $4)
     RETURNING id, handle, display_name AS "displayName", created_at AS "createdAt"`,
    [user.id, user.handle, user.displayName, user.passwordHash],
  );
  await q.query(
    `INSERT INTO alias.aliases (id, user_id, type, value, display_value, verified_at, created_at)
     VALUES ($1, $2, 'handle', $3, $4, $5, $5)`,
    [user.aliasId, user.id, user.handleCanonical, user.handle, rows[0]!.createdAt],
  );
  return rows[0]!;
}

export async function findUser(q: Queryable, id: string): Promise<UserRow | undefined> {
  const { rows } = await q.query<UserRow>(
    `SELECT id, handle, display_name AS "displayName", created_at AS "createdAt" FROM alias.users WHERE id = $1`,
    [id],
  );
  return rows[0];
}

/** Who may log in with this alias: only verified aliases count. */
export async function findCredentials(q: Queryable, type: AliasType, value: string): Promise<{ userId: string; passwordHash: string } | undefined> {
  const { rows } = await q.query<{ userId: string; passwordHash: string }>(
    `SELECT u.id AS "userId", u.password_hash AS "passwordHash"
       FROM alias.aliases a JOIN alias.users u ON u.id = a.user_id
      WHERE a.type = $1 AND a.value = $2 AND a.verified_at IS NOT NULL`,
    [type, value],
  );
  return rows[0];
}

/** The password hash of a user, for re-authentication on their own routes. */
export async function findPasswordHash(q: Queryable, userId: string): Promise<string | undefined> {
  const { rows } = await q.query<{ passwordHash: string }>(`SELECT password_hash AS "passwordHash" FROM alias.users WHERE id = $1`, [userId]);
  return rows[0]?.passwordHash;
}

export async function updatePasswordHash(q: Queryable, userId: string, passwordHash: string): Promise<void> {
  await q.query(`UPDATE alias.users SET password_hash = $2 WHERE id = $1`, [userId, passwordHash]);
}

export async function updateDisplayName(q: Queryable, userId: string, displayName: string): Promise<UserRow | undefined> {
  const { rows } = await q.query<UserRow>(
    `UPDATE alias.users SET display_name = $2 WHERE id = $1
     RETURNING id, handle, display_name AS "displayName", created_at AS "createdAt"`,
    [userId, displayName],
  );
  return rows[0];
}
