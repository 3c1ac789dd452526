// An account's entries over a period, with the balances that open and close it.
import type { Queryable } from '@wallet/kit';

export interface StatementLine {
  sequence: bigint;
  transferId: string;
  kind: string;
  amount: bigint;
  balanceAfter: bigint;
  counterpartyAccountId: string;
  description: string | null;
  createdAt: Date;
}

interface LineRow {
  sequence: bigint;
  transfer_id: string;
  kind: string;
  amount: bigint;
  balance_after: bigint;
  counterparty: string;
  description: string | null;
  created_at: Date;
}

/** The balance after the account's last entry before `at` (0 before its first entry). */
export async function balanceBefore(q: Queryable, accountId: string, at: Date): Promise<bigint> {
  const { rows } = await q.query<{ balance_after: bigint }>(
    `SELECT balance_after FROM ledger.entries WHERE account_id = $1 AND created_at < $2 ORDER BY sequence DESC LIMIT 1`,
    [accountId, at.toISOString()],
  );
  return rows[0]?.balance_after ?? 0n;
}

export async function statementLines(q: Queryable, accountId: string, from: Date, to: Date, afterSequence: bigint, limit: number): Promise<StatementLine[]> {
  const { rows } = await q.query<LineRow>(
    `SELECT e.sequence, e.transfer_id, t.kind, e.amount, e.balance_after, e.created_at, t.description,
            CASE WHEN t.from_account_id = e.account_id THEN t.to_account_id ELSE t.from_account_id END AS counterparty
     FROM ledger.entries e JOIN ledger.transfers t ON t.id = e.transfer_id
     WHERE e.account_id = $1 AND e.created_at >= $2 AND e.created_at < $3 AND e.sequence > $4
     ORDER BY e.sequence LIMIT $5`,
    [accountId, from.toISOString(), to.toISOString(), afterSequence, limit],
  );
  return rows.map((r) => ({
    sequence: r.sequence,
    transferId: r.transfer_id,
    kind: r.kind,
    amount: r.amount,
    balanceAfter: r.balance_after,
    counterpartyAccountId: r.counterparty,
    description: r.description,
    createdAt: r.created_at,
  }));
}
