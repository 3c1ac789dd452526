// SQL for the account.accounts table. Every function takes the transaction (or pool) it runs in.
import type { AccountStatus, AccountType } from '@wallet/contracts';
import type { Queryable } from '@wallet/kit';
import type { AccountRecord } from '../domain/account.ts';

export const SCHEMA = 'account';

/** No owner holds more; the bound keeps a listing small even if the per-user limit is raised. */
export const LIST_SIZE_MAX = 1000;

interface AccountRow {
  id: string;
  owner_id: string;
  currency: string;
  name: string;
  type: AccountType;
  status: AccountStatus;
  overdraft_limit: bigint;
  tier: string;
  created_at: Date;
}

const columns = 'id, owner_id, currency, name, type, status, overdraft_limit, tier, created_at';

const toRecord = (row: AccountRow): AccountRecord => ({
  id: row.id,
  ownerId: row.owner_id,
  currency: row.currency,
  name: row.name,
  type: row.type,
  status: row.status,
  overdraftLimit: BigInt(row.overdraft_limit),
  tier: row.tier,
  createdAt: new Date(row.created_at),
});

const values = (a: AccountRecord) => [a.id, a.ownerId, a.currency, a.name, a.type, a.status, a.overdraftLimit, a.tier, a.createdAt];

/** Serializes account opening per owner until the transaction ends, so the per-user limit holds under concurrency. */
export async function lockOwner(q: Queryable, ownerId: string): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`account:owner:${ownerId}`]);
}

export async function countOpenAccounts(q: Queryable, ownerId: string): Promise<number> {
  const { rows } = await q.query<{ n: bigint }>(
    `SELECT count(*)::bigint AS n FROM account.accounts WHERE owner_id = $1 AND status <> 'closed'`,
    [ownerId],
  );
  return Number(rows[0]?.n ?? 0n);
}

export async function insertAccount(q: Queryable, account: AccountRecord): Promise<void> {
  await q.query(
    `INSERT INTO account.accounts (${columns}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
    values(account),
  );
}

/** Inserts the settlement account unless the currency has one; undefined when it already existed. */
export async function insertSettlementIfAbsent(q: Queryable, account: AccountRecord): Promise<AccountRecord | undefined> {
  const { rows } = await q.query<AccountRow>(
    `INSERT INTO account.accounts (${columns}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
     ON CONFLICT (currency) WHERE type = 'settlement' DO NOTHING
     RETURNING ${columns}`,
    values(account),
  );
  return rows[0] && toRecord(rows[0]);
}

export async function findSettlement(q: Queryable, currency: string): Promise<AccountRecord | undefined> {
  const { rows } = await q.query<AccountRow>(`SELECT ${columns} FROM account.accounts WHERE currency = $1 AND type = 'settlement'`, [currency]);
  return rows[0] && toRecord(rows[0]);
}

export async function findAccount(q: Queryable, id: string, options: { forUpdate?: boolean } = {}): Promise<AccountRecord | undefined> {
  const { rows } = await q.query<AccountRow>(
    `SELECT ${columns} FROM account.accounts WHERE id = $1${options.forUpdate ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] && toRecord(rows[0]);
}

export async function listByOwner(q: Queryable, ownerId: string): Promise<AccountRecord[]> {
  const { rows } = await q.query<AccountRow>(
    `SELECT ${columns} FROM account.accounts WHERE owner_id = $1 ORDER BY created_at, id LIMIT $2`,
    [ownerId, LIST_SIZE_MAX],
  );
  return rows.map(toRecord);
}

export async function updateStatus(q: Queryable, id: string, status: AccountStatus, now: Date): Promise<void> {
  await q.query('UPDATE account.accounts SET status = $2, updated_at = $3 WHERE id = $1', [id, status, now]);
}

export async function updateLimits(q: Queryable, id: string, overdraftLimit: bigint, tier: string, now: Date): Promise<void> {
  await q.query('UPDATE account.accounts SET overdraft_limit = $2, tier = $3, updated_at = $4 WHERE id = $1', [id, overdraftLimit, tier, now]);
}

export async function updateName(q: Queryable, id: string, name: string, now: Date): Promise<void> {
  await q.query('UPDATE account.accounts SET name = $2, updated_at = $3 WHERE id = $1', [id, name, now]);
}
