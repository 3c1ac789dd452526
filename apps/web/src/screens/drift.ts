// One account's drift and lag through the public API: the read model's balance (balance service)
// against the ledger's statement (transaction service), compared at the same entry.
import { api, type Account } from '../api.ts';

export interface DriftReport {
  ledgerPosted: string;
  ledgerSequence: string;
  projectionPosted: string;
  projectionSequence: string;
  lagEntries: string;
  /** undefined while the read model is behind: the two are not at the same entry. */
  drifted: boolean | undefined;
}

const YEAR_MS = 366 * 86_400_000 - 60_000;

export async function checkDrift(account: Account): Promise<DriftReport> {
  const projection = await api.balance(account.id);
  const now = Date.now();
  const from = new Date(Math.max(Date.parse(account.createdAt) - 1000, now - YEAR_MS)).toISOString();
  let closing = '0';
  let sequence = '0';
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const statement = await api.statementRange(account.id, from, new Date(now + 1000).toISOString(), cursor);
    closing = statement.closingBalance;
    sequence = statement.entries.at(-1)?.sequence ?? sequence;
    if (!statement.nextCursor) break;
    cursor = statement.nextCursor;
  }
  const lag = BigInt(sequence) - BigInt(projection.sequence);
  return {
    ledgerPosted: closing,
    ledgerSequence: sequence,
    projectionPosted: projection.posted,
    projectionSequence: projection.sequence,
    lagEntries: (lag > 0n ? lag : 0n).toString(),
    drifted: lag === 0n ? closing !== projection.posted : undefined,
  };
}
