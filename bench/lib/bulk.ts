// W7's extra accounts, bulk-loaded with SQL straight into the services' tables (the API would take
// hours for a million accounts). Each account is written as the services would have left it after
// opening it and one operator deposit: account.accounts, ledger.accounts, a deposit transfer with
// its two entries (the settlement account's entry chain continues unbroken), balance.balances and
// balance.entries. No events are published: the read model is written directly, consistently.
// Ids are md5('w7:<n>') as a UUID, so the load generator can name account n without storing it.
import { createHash } from 'node:crypto';
import type { Db } from '@wallet/kit';
import type { TestInfra } from '@wallet/testkit';
import type { BenchAccount } from './fixtures.ts';
import type { AccountSet } from './workloads.ts';
import { log, sleep } from './util.ts';

export function bulkAccountId(n: number): string {
  const h = createHash('md5').update(`w7:${n}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The funded accounts followed by the bulk-loaded ones; bulk account n belongs to user n mod users. */
export function withBulk(funded: readonly BenchAccount[], bulkCount: number, userCount: number): AccountSet {
  return {
    size: funded.length + bulkCount,
    at: (i) => (i < funded.length ? funded[i]! : { id: bulkAccountId(i - funded.length), owner: (i - funded.length) % userCount }),
  };
}

const chunk = 100_000;

async function loadChunk(db: Db, ownerIds: readonly string[], from: number, count: number, amount: bigint): Promise<void> {
  await db.tx(async (q) => {
    const settlement = await q.query<{ id: string; balance: bigint; sequence: bigint }>(
      "SELECT id::text AS id, balance, sequence FROM ledger.accounts WHERE type = 'settlement' AND currency = 'USD' FOR UPDATE",
    );
    const s = settlement.rows[0];
    if (!s) throw new Error('no USD settlement account in the ledger (no deposit made yet?)');
    await q.query(
      `CREATE TEMP TABLE bench_w7 ON COMMIT DROP AS
         SELECT g - $1::int AS k, md5('w7:' || g)::uuid AS id, md5('w7t:' || g)::uuid AS transfer_id, ($2::text[])[1 + g % $3::int] AS owner_id
         FROM generate_series($1::int, $1::int + $4::int - 1) g`,
      [from, ownerIds, ownerIds.length, count],
    );
    const x = amount.toString();
    await q.query(
      `INSERT INTO account.accounts (id, owner_id, currency, name, type, status, overdraft_limit, created_at, updated_at)
       SELECT id, owner_id, 'USD', 'W7 bulk', 'user', 'active', 0, now(), now() FROM bench_w7`,
    );
    await q.query(
      `INSERT INTO ledger.accounts (id, owner_id, currency, type, status, overdraft_limit, balance, sequence)
       SELECT id, owner_id, 'USD', 'user', 'active', 0, $1::bigint, 1 FROM bench_w7`,
      [x],
    );
    await q.query(
      `INSERT INTO ledger.transfers (id, kind, from_account_id, to_account_id, amount, currency, description, initiated_by)
       SELECT transfer_id, 'deposit', $1::uuid, id, $2::bigint, 'USD', 'W7 bulk load', 'bench-w7' FROM bench_w7`,
      [s.id, x],
    );
    // The settlement account's entries continue its chain: sequence s+k+1, balance b-(k+1)x.
    await q.query(
      `INSERT INTO ledger.entries (account_id, sequence, transfer_id, amount, balance_after, currency)
       SELECT id, 1, transfer_id, $1::bigint, $1::bigint, 'USD' FROM bench_w7
       UNION ALL
       SELECT $2::uuid, $3::bigint + k + 1, transfer_id, -$1::bigint, $4::bigint - (k + 1) * $1::bigint, 'USD' FROM bench_w7`,
      [x, s.id, s.sequence.toString(), s.balance.toString()],
    );
    await q.query('UPDATE ledger.accounts SET balance = balance - $2::bigint * $3::bigint, sequence = sequence + $3::bigint, updated_at = now() WHERE id = $1', [s.id, x, count]);
    await q.query(
      `INSERT INTO balance.balances (account_id, owner_id, currency, available, pending, sequence)
       SELECT id, owner_id, 'USD', $1::bigint, 0, 1 FROM bench_w7`,
      [x],
    );
    await q.query(
      `INSERT INTO balance.entries (account_id, sequence, amount, balance_after, transfer_id, created_at)
       SELECT id, 1, $1::bigint, $1::bigint, transfer_id, now() FROM bench_w7
       UNION ALL
       SELECT $2::uuid, $3::bigint + k + 1, -$1::bigint, $4::bigint - (k + 1) * $1::bigint, transfer_id, now() FROM bench_w7`,
      [x, s.id, s.sequence.toString(), s.balance.toString()],
    );
    const moved = await q.query(
      'UPDATE balance.balances SET available = available - $2::bigint * $3::bigint, sequence = sequence + $3::bigint, updated_at = now() WHERE account_id = $1 AND sequence = $4::bigint AND available = $5::bigint',
      [s.id, x, count, s.sequence.toString(), s.balance.toString()],
    );
    if (moved.rowCount !== 1) throw new Error('the balance service has not caught up with the settlement account: drain first');
  });
}

/** The settlement account's balance row is moved with the ledger's: the balance service must have applied all its entries. */
async function settlementCaughtUp(db: Db, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ behind: boolean }>(
      `SELECT b.account_id IS NULL OR b.sequence <> l.sequence OR b.available <> l.balance AS behind
       FROM ledger.accounts l LEFT JOIN balance.balances b ON b.account_id = l.id WHERE l.type = 'settlement' AND l.currency = 'USD'`,
    );
    if (rows[0] && !rows[0].behind) return;
    if (Date.now() > deadline) throw new Error('W7: the balance service has not caught up with the settlement account');
    await sleep(250);
  }
}

/** Loads `count` accounts, each holding `amount`, spread over the users; returns seconds taken. */
export async function bulkLoad(infra: TestInfra, ownerIds: readonly string[], count: number, amount: bigint): Promise<number> {
  const began = Date.now();
  await settlementCaughtUp(infra.db, 30_000);
  for (let from = 0; from < count; from += chunk) {
    await loadChunk(infra.db, ownerIds, from, Math.min(chunk, count - from), amount);
    log(`W7 bulk load: ${Math.min(from + chunk, count).toLocaleString('en-US')} / ${count.toLocaleString('en-US')} accounts`);
  }
  await infra.db.query('ANALYZE account.accounts, ledger.accounts, ledger.transfers, ledger.entries, balance.balances, balance.entries');
  // The settlement balance moved under the cache: drop the cached copy; the next read refills it.
  const settlement = await infra.db.query<{ id: string }>("SELECT id::text AS id FROM ledger.accounts WHERE type = 'settlement' AND currency = 'USD'");
  for (const row of settlement.rows) await infra.cache.del(`balance:${row.id}`);
  return (Date.now() - began) / 1000;
}
