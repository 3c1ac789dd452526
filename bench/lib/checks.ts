// Correctness after the load, read straight from PostgreSQL (both schemas live in the bench's
// database): money is conserved, every acknowledged transfer is in the ledger and no other, and
// the balance service's read model equals the ledger once it has drained.
import type { Db } from '@wallet/kit';
import { sleep } from './util.ts';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

export async function sumsAreZero(db: Db): Promise<CheckResult> {
  const { rows } = await db.query<{ currency: string; total: bigint; accounts: bigint }>(
    'SELECT currency, sum(balance)::bigint AS total, count(*)::bigint AS accounts FROM ledger.accounts GROUP BY currency ORDER BY currency',
  );
  const wrong = rows.filter((r) => BigInt(r.total) !== 0n);
  const detail = rows.map((r) => `${r.currency}: Σ ${r.total} over ${r.accounts} accounts`).join('; ') || 'no accounts';
  return { name: 'Σ ledger balances per currency = 0', ok: rows.length > 0 && wrong.length === 0, detail };
}

export async function transfersRecorded(db: Db, accepted: number): Promise<CheckResult> {
  const { rows } = await db.query<{ n: bigint }>("SELECT count(*)::bigint AS n FROM ledger.transfers WHERE kind = 'transfer'");
  const recorded = Number(rows[0]?.n ?? -1);
  return {
    name: "ledger transfers (kind='transfer') = accepted responses",
    ok: recorded === accepted,
    detail: `${recorded} in the ledger, ${accepted} accepted responses`,
  };
}

interface Mismatch {
  account_id: string;
  available: bigint | null;
  balance: bigint | null;
  b_sequence: bigint | null;
  l_sequence: bigint | null;
}

async function projectionMismatches(db: Db): Promise<{ count: number; examples: Mismatch[] }> {
  // Every balance row must equal its ledger account; every account with entries must have a row.
  const where = `FROM ledger.accounts l FULL JOIN balance.balances b ON b.account_id = l.id
    WHERE (b.account_id IS NOT NULL AND (l.id IS NULL OR b.available <> l.balance OR b.sequence <> l.sequence))
       OR (b.account_id IS NULL AND l.sequence > 0)`;
  const { rows } = await db.query<{ n: bigint }>(`SELECT count(*)::bigint AS n ${where}`);
  const count = Number(rows[0]?.n ?? 0);
  if (count === 0) return { count, examples: [] };
  const examples = await db.query<Mismatch>(
    `SELECT coalesce(b.account_id, l.id)::text AS account_id, b.available, l.balance, b.sequence AS b_sequence, l.sequence AS l_sequence ${where} LIMIT 3`,
  );
  return { count, examples: examples.rows };
}

/** Polls until the balance read model equals the ledger, up to timeoutMs. */
export async function projectionMatches(db: Db, timeoutMs: number): Promise<CheckResult> {
  const began = Date.now();
  for (;;) {
    const { count, examples } = await projectionMismatches(db);
    const waited = Date.now() - began;
    if (count === 0) {
      return { name: 'balance.balances = ledger.accounts (available, sequence)', ok: true, detail: `equal after ${waited} ms of draining` };
    }
    if (waited > timeoutMs) {
      const shown = examples.map((e) => `${e.account_id}: balance svc ${e.available}@${e.b_sequence} vs ledger ${e.balance}@${e.l_sequence}`).join('; ');
      return { name: 'balance.balances = ledger.accounts (available, sequence)', ok: false, detail: `${count} rows differ after ${waited} ms: ${shown}` };
    }
    await sleep(250);
  }
}
