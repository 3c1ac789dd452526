// The bank test's checks, read straight from the ledger in PostgreSQL (the same checks as
// test/invariants.test.ts, plus the client-side history: acknowledged, refused, unknown).
import type { Db } from '@wallet/kit';

export interface History {
  /** Acknowledged (201): idempotency key → transfer id from the response. */
  acked: Map<string, string>;
  /** Definitive refusals (4xx), by idempotency key. */
  refused: Set<string>;
  /** The client gave up: the outcome is unknown. */
  unknown: Set<string>;
}

export interface Violation {
  check: string;
  detail: string;
}

/** A snapshot read: one statement, so one consistent MVCC snapshot of every balance. */
export async function snapshotViolations(db: Db, userAccounts: string[], deposited: bigint): Promise<Violation[]> {
  const { rows } = await db.query<{ currency: string; total: string; users: string; negative: string }>(
    `SELECT currency, sum(balance)::text AS total,
            coalesce(sum(balance) FILTER (WHERE id = ANY($1::uuid[])), 0)::text AS users,
            count(*) FILTER (WHERE type = 'user' AND balance < 0)::text AS negative
       FROM ledger.accounts GROUP BY currency`,
    [userAccounts],
  );
  const out: Violation[] = [];
  for (const row of rows) {
    if (BigInt(row.total) !== 0n) out.push({ check: 'wrong-total', detail: `${row.currency}: Σ all balances = ${row.total}` });
    if (row.negative !== '0') out.push({ check: 'negative', detail: `${row.currency}: ${row.negative} user accounts below zero` });
  }
  const users = rows.reduce((sum, r) => sum + BigInt(r.users), 0n);
  if (users !== deposited) out.push({ check: 'wrong-total', detail: `users' total ${users} ≠ deposits ${deposited}` });
  return out;
}

export interface FinalFigures {
  lost: number;
  duplicated: number;
  phantom: number;
  unexpected: number;
  unknownApplied: number;
  violations: Violation[];
}

export async function finalChecks(db: Db, userAccounts: string[], deposited: bigint, history: History): Promise<FinalFigures> {
  const violations = await snapshotViolations(db, userAccounts, deposited);
  // Every transfer carries its idempotency key as its description.
  const { rows: transfers } = await db.query<{ id: string; description: string | null }>(
    "SELECT id::text, description FROM ledger.transfers WHERE kind = 'transfer' AND from_account_id = ANY($1::uuid[])",
    [userAccounts],
  );
  const byKey = new Map<string, string[]>();
  const ids = new Set<string>();
  for (const t of transfers) {
    ids.add(t.id);
    const key = t.description ?? '';
    byKey.set(key, [...(byKey.get(key) ?? []), t.id]);
  }
  let lost = 0;
  for (const [key, id] of history.acked) {
    const found = byKey.get(key) ?? [];
    if (!ids.has(id) || !found.includes(id)) {
      lost++;
      if (lost <= 5) violations.push({ check: 'lost', detail: `acknowledged transfer ${id} (key ${key}) is not in the ledger` });
    }
  }
  let duplicated = 0;
  for (const [key, found] of byKey) {
    if (found.length > 1) {
      duplicated += found.length - 1;
      violations.push({ check: 'duplicated', detail: `key ${key}: ${found.length} transfers ${found.join(', ')}` });
    }
  }
  let phantom = 0;
  for (const key of history.refused) {
    if (byKey.has(key)) {
      phantom++;
      violations.push({ check: 'phantom', detail: `refused key ${key} is in the ledger as ${byKey.get(key)!.join(', ')}` });
    }
  }
  let unexpected = 0;
  let unknownApplied = 0;
  for (const key of byKey.keys()) {
    if (history.unknown.has(key)) unknownApplied++;
    else if (!history.acked.has(key) && !history.refused.has(key)) {
      unexpected++;
      violations.push({ check: 'unexpected', detail: `transfer with key ${key} was never sent by a client` });
    }
  }
  // Each transfer balances in two entries; each account's entries chain 1..n with running balances.
  const { rows: unbalanced } = await db.query(
    'SELECT e.transfer_id FROM ledger.entries e JOIN ledger.transfers t ON t.id = e.transfer_id GROUP BY e.transfer_id HAVING sum(e.amount) <> 0 OR count(*) <> 2',
  );
  if (unbalanced.length > 0) violations.push({ check: 'unbalanced', detail: `${unbalanced.length} transfers whose entries do not balance` });
  const { rows: chains } = await db.query<{ account_id: string }>(
    `SELECT DISTINCT account_id::text FROM (
       SELECT account_id, sequence, balance_after, amount,
              lag(balance_after, 1, 0::bigint) OVER (PARTITION BY account_id ORDER BY sequence) AS before,
              row_number() OVER (PARTITION BY account_id ORDER BY sequence) AS n
       FROM ledger.entries) e
     WHERE before + amount <> balance_after OR n <> sequence`,
  );
  if (chains.length > 0) violations.push({ check: 'sequence-gap', detail: `entry chains broken for ${chains.map((r) => r.account_id).join(', ')}` });
  const { rows: heads } = await db.query<{ id: string }>(
    `SELECT a.id::text FROM ledger.accounts a
       LEFT JOIN (SELECT account_id, max(sequence) AS s, count(*) AS n FROM ledger.entries GROUP BY account_id) e ON e.account_id = a.id
      WHERE a.sequence <> coalesce(e.s, 0) OR a.sequence <> coalesce(e.n, 0)`,
  );
  if (heads.length > 0) violations.push({ check: 'sequence-gap', detail: `account sequence ≠ entries for ${heads.map((r) => r.id).join(', ')}` });
  return { lost, duplicated, phantom, unexpected, unknownApplied, violations };
}

export interface LedgerBalance {
  id: string;
  balance: string;
  pending: string;
  sequence: string;
}

export async function ledgerBalances(db: Db): Promise<LedgerBalance[]> {
  const { rows } = await db.query<LedgerBalance>('SELECT id::text, balance::text, pending::text, sequence::text FROM ledger.accounts ORDER BY id');
  return rows;
}
