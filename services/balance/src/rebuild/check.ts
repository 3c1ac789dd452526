// Walks every account — those the ledger knows and those the projection holds — a page at a time,
// in id order, and compares each projected balance (PostgreSQL row and cached copy) with the ledger
// at the same sequence. Shared by the periodic drift check and the rebuild command.
import type { Db } from '@wallet/kit';
import { LEDGER_BALANCES_MAX, type LedgerAccountBalance, type LedgerBalanceAt, type LedgerReader } from '../events/ledger-client.ts';
import type { BalanceCache, CacheInspection } from '../store/balance-cache.ts';
import { checkAccount, type AccountCheck } from './compare.ts';
import { projectedIdsAfter, readProjected } from './store.ts';

export interface AccountPage {
  /** The page's accounts in id order: the ledger's and the projection's. */
  accountIds: string[];
  /** The ledger's accounts of the page (current balance, owner, limit), by id. */
  ledger: Map<string, LedgerAccountBalance>;
  /** Where the next page starts; null when this page was the last. */
  next: string | null;
  /** The ledger's number of accounts, on the first page. */
  total?: number;
}

/** Accounts per page at most: each may need two positions of one `balancesAt` call. */
export const CHECK_PAGE_MAX = LEDGER_BALANCES_MAX / 2;

/**
 * The accounts after `afterId` (null: from the first), at most `size` from each side. A full page on
 * either side ends the page at its last id, so that no account of the other side is skipped.
 */
export async function readPage(db: Db, ledger: LedgerReader, afterId: string | null, size: number): Promise<AccountPage> {
  const [listing, projected] = await Promise.all([ledger.listBalances(afterId, size), projectedIdsAfter(db, afterId, size)]);
  const ledgerIds = listing.accounts.map((a) => a.accountId);
  const ends = [ledgerIds.length === size ? ledgerIds.at(-1)! : null, projected.length === size ? projected.at(-1)! : null].filter((id): id is string => id !== null);
  const end = ends.length === 0 ? null : ends.sort()[0]!;
  const within = (id: string) => end === null || id <= end;
  const accountIds = [...new Set([...ledgerIds, ...projected])].filter(within).sort();
  const page: AccountPage = { accountIds, ledger: new Map(listing.accounts.filter((a) => within(a.accountId)).map((a) => [a.accountId, a])), next: end };
  if (listing.total !== undefined) page.total = listing.total;
  return page;
}

async function inBatches<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(work))));
  return results;
}

/**
 * Compares each account: the cached copy is read first, then the row with its last history entry,
 * then the ledger at their sequences — so a copy newer than its row can only be a wrong one (the
 * consumer writes the cache after its commit), and the ledger's entries at those sequences exist.
 */
export async function inspectAccounts(db: Db, cache: BalanceCache, ledger: LedgerReader, accountIds: readonly string[]): Promise<AccountCheck[]> {
  if (accountIds.length > CHECK_PAGE_MAX) throw new Error(`at most ${CHECK_PAGE_MAX} accounts per inspection`);
  const copies = await inBatches(accountIds, 100, (accountId) => cache.inspect(accountId));
  const rows = await readProjected(db, accountIds);
  const positions: Array<{ accountId: string; sequence: bigint }> = [];
  accountIds.forEach((accountId, i) => {
    const sequence = rows.get(accountId)?.sequence ?? 0n;
    positions.push({ accountId, sequence });
    const copy = copies[i]!;
    if (copy.state === 'present' && copy.view && copy.view.sequence !== sequence) positions.push({ accountId, sequence: copy.view.sequence });
  });
  const answers = await ledger.balancesAt(positions);
  const at = new Map<string, LedgerBalanceAt>(answers.map((answer) => [`${answer.accountId}/${answer.sequence}`, answer]));
  return accountIds.map((accountId, i) => {
    const row = rows.get(accountId);
    const cached: CacheInspection = copies[i]!;
    const atRow = at.get(`${accountId}/${row?.sequence ?? 0n}`)!;
    const atCache = cached.state === 'present' && cached.view ? at.get(`${accountId}/${cached.view.sequence}`) : undefined;
    return checkAccount({ accountId, row, cache: cached, atRow, ...(atCache ? { atCache } : {}) });
  });
}
