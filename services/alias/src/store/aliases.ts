// Resolving aliases to the accounts that receive money, and listing one user's aliases.
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
 * linked to it. Undefined when the alias is unknown or has no account (for that currency).
 */
export async function resolveAlias(q: Queryable, type: AliasType, value: string, currency: string | undefined): Promise<ResolvedAlias | undefined> {
  const { rows } = await q.query<ResolvedAlias>(
    `SELECT a.type, a.value, a.display_value AS "displayValue", a.user_id AS "userId", u.display_name AS "displayName",
            aa.account_id AS "accountId", aa.currency
       FROM alias.aliases a
       JOIN alias.users u ON u.id = a.user_id
       JOIN alias.alias_accounts aa ON aa.alias_id = a.id
      WHERE a.type = $1 AND a.value = $2 AND a.verified_at IS NOT NULL
        AND ($3::text IS NULL OR aa.currency = $3::text)
      ORDER BY aa.linked_at, aa.currency
      LIMIT 1`,
    [type, value, currency ?? null],
  );
  return rows[0];
}

export interface OwnAlias {
  id: string;
  type: AliasType;
  value: string;
  displayValue: string;
  verifiedAt: Date | null;
  createdAt: Date;
  accounts: { currency: string; accountId: string }[];
}

export const ownAliasesMax = 100;

export async function listAliasesOfUser(q: Queryable, userId: string): Promise<OwnAlias[]> {
  const { rows } = await q.query<Omit<OwnAlias, 'accounts'> & { currency: string | null; accountId: string | null }>(
    `SELECT a.id, a.type, a.value, a.display_value AS "displayValue", a.verified_at AS "verifiedAt", a.created_at AS "createdAt",
            aa.currency, aa.account_id AS "accountId"
       FROM (SELECT * FROM alias.aliases WHERE user_id = $1 ORDER BY created_at, id LIMIT $2) a
       LEFT JOIN alias.alias_accounts aa ON aa.alias_id = a.id
      ORDER BY a.created_at, a.id, aa.linked_at, aa.currency`,
    [userId, ownAliasesMax],
  );
  const byId = new Map<string, OwnAlias>();
  for (const { currency, accountId, ...alias } of rows) {
    const entry = byId.get(alias.id) ?? { ...alias, accounts: [] };
    byId.set(alias.id, entry);
    if (currency !== null && accountId !== null) entry.accounts.push({ currency, accountId });
  }
  return [...byId.values()];
}
