// Rebuilds every balance projection from the ledger: for each account (the ledger's and the
// projection's, in id order, a page at a time) it first compares the projection with the ledger at
// the same sequence (the "drifted before" count), then rewrites its history from the ledger's entries,
// its row and its cached copy, and catches it up to the ledger's current sequence. Every change is
// made under the account's row lock (rebuild/repair.ts), so the service may keep running meanwhile.
import type { Db } from '@wallet/kit';
import type { LedgerReader } from '../events/ledger-client.ts';
import type { BalanceCache } from '../store/balance-cache.ts';
import { CHECK_PAGE_MAX, inspectAccounts, readPage } from './check.ts';
import type { Drift } from './compare.ts';
import { createRepairer, UnknownAccountError } from './repair.ts';

export interface RebuildOptions {
  db: Db;
  cache: BalanceCache;
  ledger: LedgerReader;
  /** Accounts per page (at most 500). */
  pageSize?: number;
  /** Entries per ledger page. */
  ledgerPageSize?: number;
  /** Accounts rebuilt at once. */
  concurrency?: number;
  /** Only compare and report; change nothing. */
  checkOnly?: boolean;
  /** Told the ledger's number of accounts (first page), then after every account. */
  onProgress?: (progress: { total?: number; done: number; entries: number }) => void;
}

export interface RebuildReport {
  /** Accounts visited (the ledger's and the projection's). */
  accounts: number;
  /** Accounts whose projection (row, history or cached copy) differed from the ledger before the rebuild. */
  driftedBefore: number;
  /** Accounts the projection was behind the ledger before the rebuild. */
  laggingBefore: number;
  /** Accounts rewritten from the ledger. */
  rebuilt: number;
  /** Projected accounts with entries the ledger does not know (left as they are). */
  unknown: number;
  /** Entries read from the ledger. */
  entriesRead: number;
  /** History entries inserted, overwritten or deleted to match the ledger. */
  entriesRewritten: number;
  /** Entries applied past the projected sequence (catching up). */
  entriesApplied: number;
  failures: Array<{ accountId: string; error: string }>;
  /** The first drifts found. */
  drifts: Drift[];
  seconds: number;
}

const driftsMax = 50;

async function eachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export async function rebuildAll({ db, cache, ledger, pageSize = CHECK_PAGE_MAX, ledgerPageSize = 500, concurrency = 2, checkOnly = false, onProgress }: RebuildOptions): Promise<RebuildReport> {
  const started = performance.now();
  const repairer = createRepairer({ db, cache, ledger, pageSize: ledgerPageSize });
  const report: RebuildReport = {
    accounts: 0,
    driftedBefore: 0,
    laggingBefore: 0,
    rebuilt: 0,
    unknown: 0,
    entriesRead: 0,
    entriesRewritten: 0,
    entriesApplied: 0,
    failures: [],
    drifts: [],
    seconds: 0,
  };
  let after: string | null = null;
  let total: number | undefined;
  for (;;) {
    const page = await readPage(db, ledger, after, Math.min(pageSize, CHECK_PAGE_MAX));
    total ??= page.total;
    const checks = page.accountIds.length === 0 ? [] : await inspectAccounts(db, cache, ledger, page.accountIds);
    for (const check of checks) {
      if (check.drifts.length > 0) {
        report.driftedBefore++;
        for (const drift of check.drifts) if (report.drifts.length < driftsMax) report.drifts.push(drift);
      }
      if (check.lag !== null && check.lag > 0n) report.laggingBefore++;
    }
    await eachLimited(checks, Math.max(1, concurrency), async (check) => {
      report.accounts++;
      const facts = page.ledger.get(check.accountId);
      try {
        if (check.ledgerSequence === null) {
          // Not an account of the ledger: a row with entries is reported (not repairable from it); a
          // zero row (its account.opened came first) stays; a cached copy without a row goes.
          if (check.drifts.some((d) => d.kind === 'unknown_account')) report.unknown++;
          else if (!checkOnly && !check.row) await cache.remove(check.accountId);
          return;
        }
        if (checkOnly) return;
        const result = await repairer.repair(check.accountId, {
          history: true,
          create: true,
          catchUpTo: check.ledgerSequence,
          ...(facts ? { facts } : {}),
        });
        report.rebuilt++;
        report.entriesRead += result.entriesRead;
        report.entriesRewritten += result.entriesRewritten;
        report.entriesApplied += result.entriesApplied;
      } catch (error) {
        if (error instanceof UnknownAccountError) report.unknown++;
        else report.failures.push({ accountId: check.accountId, error: error instanceof Error ? error.message : String(error) });
      } finally {
        onProgress?.({ ...(total === undefined ? {} : { total }), done: report.accounts, entries: report.entriesRead });
      }
    });
    if (page.next === null) break;
    after = page.next;
  }
  report.seconds = (performance.now() - started) / 1000;
  return report;
}
