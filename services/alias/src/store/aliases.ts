// Aliases: resolving them to the accounts that receive money, and their owners' changes.
import type { Queryable } from '@wallet/kit';
import type { AliasType } from '../domain/alias.ts';

export interface ResolvedAlias {
  type: AliasType;
  value: string;
  displayValue: string;
  userId: string;
  displayName: string;
  accountId: string;
  currency: string;
}

/**
 * The receiving account of a verified alias, in `currency` or, without one, the first account
 * linked to it. Only ACTIVE accounts receive: an alias whose account (in that currency) is frozen
 * or closed, or was unlinked, resolves to nothing. Undefined when the alias is unknown, pending or
 * has no such account.
 */
export async function resolveAlias(q: Queryable, type: AliasType, value: string, currency: string | undefined): Promise<ResolvedAlias | undefined> {
  const { rows } = await q.query<ResolvedAlias>(
    `SELECT a.type, a.value, a.display_value AS "displayValue", a.user_id AS "userId", u.display_name AS "displayName",
            aa.account_id AS "accountId", aa.currency
       FROM alias.aliases a
       JOIN alias.users u ON u.id = a.user_id
       JOIN alias.alias_accounts aa ON aa.alias_id = a.id
       JOIN alias.accounts acc ON acc.id = aa.account_id AND acc.status = 'active'
      WHERE a.type = $1 AND a.value = $2 AND a.verified_at IS NOT NULL
        AND ($3::text IS NULL OR aa.currency = $3::text)
      ORDER BY aa.linked_at, aa.currency
      LIMIT 1`,
    [type, value, currency ?? null],
  );
  return rows[0];
}

export interface LinkedAccount {
  currency: string;
  accountId: string;
  status: 'active' | 'frozen' | 'closed';
}

export interface OwnAlias {
  id: string;
  type: AliasType;
  value: string;
  displayValue: string;
  verifiedAt: Date | null;
  createdAt: Date;
  /** Pending claims: when the claim (its latest code) expires. */
  expiresAt: Date | null;
  accounts: LinkedAccount[];
}

export const ownAliasesMax = 100;

type OwnAliasRow = Omit<OwnAlias, 'accounts'> & { currency: string | null; accountId: string | null; status: LinkedAccount['status'] | null };

const ownAliasSelect = `
  SELECT a.id, a.type, a.value, a.display_value AS "displayValue", a.verified_at AS "verifiedAt", a.created_at AS "createdAt",
         v.expires_at AS "expiresAt", aa.currency, aa.account_id AS "accountId", acc.status
    FROM a
    LEFT JOIN alias.alias_verifications v ON v.alias_id = a.id
    LEFT JOIN alias.alias_accounts aa ON aa.alias_id = a.id AND aa.account_id IS NOT NULL
    LEFT JOIN alias.accounts acc ON acc.id = aa.account_id
   ORDER BY a.created_at, a.id, aa.linked_at, aa.currency`;

function groupOwnAliases(rows: OwnAliasRow[]): OwnAlias[] {
  const byId = new Map<string, OwnAlias>();
  for (const { currency, accountId, status, ...alias } of rows) {
    const entry = byId.get(alias.id) ?? { ...alias, accounts: [] };
    byId.set(alias.id, entry);
    if (currency !== null && accountId !== null && status !== null) entry.accounts.push({ currency, accountId, status });
  }
  return [...byId.values()];
}

/** The user's aliases, verified and pending, with their receiving accounts (oldest first). */
export async function listAliasesOfUser(q: Queryable, userId: string): Promise<OwnAlias[]> {
  const { rows } = await q.query<OwnAliasRow>(
    `WITH a AS (SELECT * FROM alias.aliases WHERE user_id = $1 ORDER BY created_at, id LIMIT $2) ${ownAliasSelect}`,
    [userId, ownAliasesMax],
  );
  return groupOwnAliases(rows);
}

/** One alias of the user (undefined when it is someone else's or does not exist). */
export async function findOwnAlias(q: Queryable, userId: string, aliasId: string): Promise<OwnAlias | undefined> {
  const { rows } = await q.query<OwnAliasRow>(`WITH a AS (SELECT * FROM alias.aliases WHERE user_id = $1 AND id = $2) ${ownAliasSelect}`, [userId, aliasId]);
  return groupOwnAliases(rows)[0];
}

/** Locks the alias row for the rest of the transaction; false when it is not the user's. */
export async function lockOwnAlias(q: Queryable, userId: string, aliasId: string): Promise<{ type: AliasType; value: string; displayValue: string; verifiedAt: Date | null } | undefined> {
  const { rows } = await q.query<{ type: AliasType; value: string; displayValue: string; verifiedAt: Date | null }>(
    `SELECT type, value, display_value AS "displayValue", verified_at AS "verifiedAt" FROM alias.aliases WHERE user_id = $1 AND id = $2 FOR UPDATE`,
    [userId, aliasId],
  );
  return rows[0];
}

/** Serialises one user's alias changes (the per-user limit is counted under it). False: no such user. */
export async function lockUser(q: Queryable, userId: string): Promise<boolean> {
  return (await q.query(`SELECT 1 FROM alias.users WHERE id = $1 FOR UPDATE`, [userId])).rows.length > 0;
}

/** Pending claims whose code expired are dead: removed here (of one user, of one value, or all). */
export async function deleteDeadClaims(q: Queryable, where: { userId: string } | { type: AliasType; value: string } | 'all', now: Date): Promise<number> {
  const [filter, params] =
    where === 'all' ? ['true', [now]] : 'userId' in where ? ['a.user_id = $2', [now, where.userId]] : ['a.type = $2 AND a.value = $3', [now, where.type, where.value]];
  const deleted = await q.query(
    `DELETE FROM alias.aliases a
      WHERE ${filter} AND a.verified_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM alias.alias_verifications v WHERE v.alias_id = a.id AND v.expires_at > $1)`,
    params,
  );
  return deleted.rowCount;
}

/** Verified aliases plus live pending claims: what counts against ALIASES_PER_USER_MAX. */
export async function countLiveAliases(q: Queryable, userId: string, now: Date): Promise<number> {
  const { rows } = await q.query<{ n: bigint }>(
    `SELECT count(*)::bigint AS n FROM alias.aliases a
      WHERE a.user_id = $1
        AND (a.verified_at IS NOT NULL OR EXISTS (SELECT 1 FROM alias.alias_verifications v WHERE v.alias_id = a.id AND v.expires_at > $2))`,
    [userId, now],
  );
  return Number(rows[0]!.n);
}

/** The alias with this value, if the user already has it (verified or pending). */
export async function findUserAliasByValue(q: Queryable, userId: string, type: AliasType, value: string): Promise<{ id: string; verifiedAt: Date | null } | undefined> {
  const { rows } = await q.query<{ id: string; verifiedAt: Date | null }>(
    `SELECT id, verified_at AS "verifiedAt" FROM alias.aliases WHERE user_id = $1 AND type = $2 AND value = $3`,
    [userId, type, value],
  );
  return rows[0];
}

/** Whoever holds this value verified, if anyone. */
export async function verifiedOwner(q: Queryable, type: AliasType, value: string): Promise<string | undefined> {
  const { rows } = await q.query<{ userId: string }>(
    `SELECT user_id AS "userId" FROM alias.aliases WHERE type = $1 AND value = $2 AND verified_at IS NOT NULL`,
    [type, value],
  );
  return rows[0]?.userId;
}

export async function insertAlias(
  q: Queryable,
  alias: { id: string; userId: string; type: AliasType; value: string; displayValue: string; verifiedAt: Date | null; createdAt: Date },
): Promise<void> {
  await q.query(
    `INSERT INTO alias.aliases (id, user_id, type, value, display_value, verified_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [alias.id, alias.userId, alias.type, alias.value, alias.displayValue, alias.verifiedAt, alias.createdAt],
  );
}

export async function markVerified(q: Queryable, aliasId: string, at: Date): Promise<void> {
  await q.query(`UPDATE alias.aliases SET verified_at = $2 WHERE id = $1`, [aliasId, at]);
  await q.query(`DELETE FROM alias.alias_verifications WHERE alias_id = $1`, [aliasId]);
}

export async function deleteAlias(q: Queryable, aliasId: string): Promise<void> {
  await q.query(`DELETE FROM alias.aliases WHERE id = $1`, [aliasId]);
}

/**
 * A new alias receives like the others: in each currency, into the user's oldest ACTIVE account
 * (the first account in a currency receives for every alias; the owner may link another).
 */
export async function linkNewAlias(q: Queryable, aliasId: string, userId: string, at: Date): Promise<number> {
  const linked = await q.query(
    `INSERT INTO alias.alias_accounts (alias_id, currency, account_id, linked_at)
     SELECT DISTINCT ON (currency) $1::uuid, currency, id, $3::timestamptz FROM alias.accounts
      WHERE user_id = $2 AND status = 'active'
      ORDER BY currency, opened_at, id
     ON CONFLICT (alias_id, currency) DO NOTHING`,
    [aliasId, userId, at],
  );
  return linked.rowCount;
}

/** The receiving account of an alias in a currency; null unlinks it (and keeps new accounts from linking it). */
export async function setLink(q: Queryable, aliasId: string, currency: string, accountId: string | null, at: Date): Promise<void> {
  await q.query(
    `INSERT INTO alias.alias_accounts (alias_id, currency, account_id, linked_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT (alias_id, currency) DO UPDATE SET account_id = EXCLUDED.account_id, linked_at = EXCLUDED.linked_at`,
    [aliasId, currency, accountId, at],
  );
}

/** The user's handle alias, locked. */
export async function lockHandleOf(q: Queryable, userId: string): Promise<{ id: string; value: string; displayValue: string } | undefined> {
  const { rows } = await q.query<{ id: string; value: string; displayValue: string }>(
    `SELECT id, value, display_value AS "displayValue" FROM alias.aliases WHERE user_id = $1 AND type = 'handle' FOR UPDATE`,
    [userId],
  );
  return rows[0];
}

/** Gives the handle alias a new value (same alias, same links) and the user the new handle. */
export async function updateHandle(q: Queryable, aliasId: string, userId: string, handle: { canonical: string; display: string }): Promise<void> {
  await q.query(`UPDATE alias.aliases SET value = $2, display_value = $3 WHERE id = $1`, [aliasId, handle.canonical, handle.display]);
  await q.query(`UPDATE alias.users SET handle = $2 WHERE id = $1`, [userId, handle.display]);
}
