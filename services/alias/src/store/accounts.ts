// The owners' accounts as the account service announces them, and which alias receives into which.
import type { Queryable } from '@wallet/kit';

export interface OpenedAccount {
  accountId: string;
  userId: string;
  currency: string;
  status: 'active' | 'frozen' | 'closed';
  openedAt: string;
}

/** Records the account; false when it was already known. */
export async function recordAccount(q: Queryable, account: OpenedAccount): Promise<boolean> {
  const inserted = await q.query(
    `INSERT INTO alias.accounts (id, user_id, currency, status, opened_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (id) DO NOTHING`,
    [account.accountId, account.userId, account.currency, account.status, account.openedAt],
  );
  return inserted.rowCount > 0;
}

/**
 * Links every verified alias of the user that has no receiving account in this currency yet. An
 * alias its owner unlinked in this currency (a row without account) is left alone.
 */
export async function linkAccountToAliasesWithout(q: Queryable, userId: string, currency: string, accountId: string): Promise<number> {
  const linked = await q.query(
    `INSERT INTO alias.alias_accounts (alias_id, currency, account_id)
     SELECT a.id, $2, $3 FROM alias.aliases a WHERE a.user_id = $1 AND a.verified_at IS NOT NULL
     ON CONFLICT (alias_id, currency) DO NOTHING`,
    [userId, currency, accountId],
  );
  return linked.rowCount;
}

/**
 * Updates the status if this change is newer than the last one applied (events may arrive out of
 * order) and the account is not closed (closing is final). Returns the account (user and currency)
 * when the change was applied.
 */
export async function updateAccountStatus(
  q: Queryable,
  accountId: string,
  status: OpenedAccount['status'],
  changedAt: Date,
): Promise<{ userId: string; currency: string } | undefined> {
  const { rows } = await q.query<{ userId: string; currency: string }>(
    `UPDATE alias.accounts SET status = $2, status_changed_at = $3
      WHERE id = $1 AND status <> 'closed' AND (status_changed_at IS NULL OR status_changed_at <= $3)
      RETURNING user_id AS "userId", currency`,
    [accountId, status, changedAt],
  );
  return rows[0];
}

/** One of the user's accounts as this service knows it (from the account service's events). */
export async function findOwnAccount(q: Queryable, userId: string, accountId: string): Promise<{ currency: string; status: OpenedAccount['status'] } | undefined> {
  const { rows } = await q.query<{ currency: string; status: OpenedAccount['status'] }>(
    `SELECT currency, status FROM alias.accounts WHERE id = $1 AND user_id = $2`,
    [accountId, userId],
  );
  return rows[0];
}

export async function unlinkAccount(q: Queryable, accountId: string): Promise<number> {
  return (await q.query(`DELETE FROM alias.alias_accounts WHERE account_id = $1`, [accountId])).rowCount;
}

/**
 * The user's oldest account in that currency that is not closed, active ones first (a frozen one
 * receives again once unfrozen).
 */
export async function oldestOpenAccount(q: Queryable, userId: string, currency: string): Promise<string | undefined> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id FROM alias.accounts WHERE user_id = $1 AND currency = $2 AND status <> 'closed'
      ORDER BY (status = 'active') DESC, opened_at, id LIMIT 1`,
    [userId, currency],
  );
  return rows[0]?.id;
}
