// Reads missing entries from the ledger (the transaction service), the source of truth for repairs.
import type { ServiceClient } from '@wallet/kit';
import { ENTRIES_PER_BATCH_MAX, parseEntry, type Entry } from '../domain/entry.ts';

export interface LedgerClient {
  /** Entries of one account with a sequence above `afterSequence`, in sequence order, at most `limit`. */
  entriesAfter(accountId: string, afterSequence: bigint, limit: number): Promise<Entry[]>;
}

export function createLedgerClient(client: ServiceClient): LedgerClient {
  return {
    async entriesAfter(accountId, afterSequence, limit) {
      if (!Number.isInteger(limit) || limit < 1 || limit > ENTRIES_PER_BATCH_MAX) throw new Error(`bad ledger page size ${limit}`);
      const path = `/internal/accounts/${encodeURIComponent(accountId)}/entries?afterSequence=${afterSequence}&limit=${limit}`;
      const response = await client.get<unknown>(path);
      if (response.status !== 200) throw new Error(`the transaction service answered ${response.status} to ${path}`);
      const body = response.body;
      const raw = typeof body === 'object' && body !== null && 'entries' in body ? body.entries : undefined;
      if (!Array.isArray(raw) || raw.length > limit) throw new Error(`the transaction service sent a malformed entry page for ${accountId}`);
      return raw.map((item: unknown) => {
        // Each entry names its transfer (or hold) when the listing says it, and its reservation
        // (pendingAmount, pendingAfter) the same way as in the events.
        const parsed = parseEntry(item, null);
        if (!parsed.ok) throw new Error(`the transaction service sent a malformed entry for ${accountId}: ${parsed.reason}`);
        return parsed.value;
      });
    },
  };
}
