// Applies account and ledger events to the balance tables, then to the cache.
// One PostgreSQL transaction per event, rows locked in account-id order. Gaps are filled from the
// ledger before the event is applied — never skipped; entries that do not add up are never applied.
import type { Db, Queryable } from '@wallet/kit';
import { planEntries, type InvalidReason } from '../domain/apply.ts';
import type { BalanceView } from '../domain/balance.ts';
import type { AccountOpening, Entry } from '../domain/entry.ts';
import type { BalanceCache } from '../store/balance-cache.ts';
import { findBalance, lockOrCreateBalance, recordEntries, setOwner } from '../store/balances.ts';
import type { LedgerClient } from './ledger-client.ts';

/** An event that contradicts the stored balances. Thrown so the broker retries and then dead-letters it. */
export class InvalidEventError extends Error {
  constructor(
    readonly accountId: string,
    readonly reason: InvalidReason | 'owner_mismatch',
    detail: string,
    readonly sequence?: bigint,
  ) {
    super(`account ${accountId}${sequence === undefined ? '' : ` entry ${sequence}`}: ${reason}: ${detail}`);
    this.name = 'InvalidEventError';
  }
}

interface Gap {
  accountId: string;
  /** The first sequence the event brings that could not be applied yet. */
  beforeSequence: bigint;
}

/** Entries are missing before this event: its transaction is rolled back while they are fetched. */
class GapError extends Error {
  constructor(readonly gaps: Gap[]) {
    super(`missing entries before ${gaps.map((g) => `${g.accountId}#${g.beforeSequence}`).join(', ')}`);
    this.name = 'GapError';
  }
}

export interface ProjectorStats {
  accountsOpened: number;
  /** Entries applied from events. */
  applied: number;
  /** Entries applied from the ledger to fill gaps. */
  repaired: number;
  /** Entries skipped because they were already applied. */
  duplicates: number;
  /** Deliveries refused because the event contradicts the stored balances. */
  rejected: number;
}

export interface ProjectorOptions {
  db: Db;
  cache: BalanceCache;
  ledger: LedgerClient;
  /** Entries asked of the ledger per page. */
  ledgerPageSize: number;
  /** Pages one gap repair may fetch in one delivery; the progress is kept and the next delivery goes on. */
  repairPagesMax: number;
}

export interface Projector {
  readonly stats: Readonly<ProjectorStats>;
  accountOpened(account: AccountOpening): Promise<void>;
  transactionCreated(entries: readonly Entry[]): Promise<void>;
}

/** Repair rounds per event: a second gap only appears if another consumer raced this one. */
const repairRoundsMax = 3;

interface Applied {
  view: BalanceView;
  applied: number;
  duplicates: number;
}

interface BatchResult {
  views: BalanceView[];
  applied: number;
  duplicates: number;
}

async function applyAccountEntries(q: Queryable, accountId: string, entries: readonly Entry[]): Promise<Applied | Gap> {
  const first = entries[0]!;
  // Entries can overtake account.opened: the row then starts without an owner until it arrives.
  const stored = await lockOrCreateBalance(q, { accountId, ownerId: null, currency: first.currency, updatedAt: first.createdAt });
  const plan = planEntries(stored, entries);
  switch (plan.kind) {
    case 'invalid':
      throw new InvalidEventError(accountId, plan.reason, plan.detail, plan.entry.sequence);
    case 'gap':
      return { accountId, beforeSequence: plan.beforeSequence };
    case 'ok': {
      await recordEntries(q, accountId, plan.apply);
      const last = plan.apply.at(-1);
      const view = last ? { ...stored, available: last.balanceAfter, sequence: last.sequence, updatedAt: last.createdAt } : stored;
      return { view, applied: plan.apply.length, duplicates: plan.duplicates };
    }
  }
}

export function createProjector({ db, cache, ledger, ledgerPageSize, repairPagesMax }: ProjectorOptions): Projector {
  const stats: ProjectorStats = { accountsOpened: 0, applied: 0, repaired: 0, duplicates: 0, rejected: 0 };

  /** Applies a batch of entries (one event, or one ledger page) in one transaction. */
  const applyBatch = (entries: readonly Entry[]): Promise<BatchResult> =>
    db.tx(async (q) => {
      const byAccount = new Map<string, Entry[]>();
      for (const entry of entries) byAccount.set(entry.accountId, [...(byAccount.get(entry.accountId) ?? []), entry]);
      const result: BatchResult = { views: [], applied: 0, duplicates: 0 };
      const gaps: Gap[] = [];
      // Sorted lock order: two events touching the same two accounts never deadlock.
      for (const accountId of [...byAccount.keys()].sort()) {
        const outcome = await applyAccountEntries(q, accountId, byAccount.get(accountId)!);
        if ('beforeSequence' in outcome) {
          gaps.push(outcome);
          continue;
        }
        result.views.push(outcome.view);
        result.applied += outcome.applied;
        result.duplicates += outcome.duplicates;
      }
      if (gaps.length > 0) throw new GapError(gaps);
      return result;
    });

  const writeCache = (views: readonly BalanceView[]) => Promise.all(views.map((view) => cache.write(view)));

  /** Fetches and applies the ledger's entries of one account up to just before `beforeSequence`. */
  const repair = async ({ accountId, beforeSequence }: Gap) => {
    for (let page = 0; page < repairPagesMax; page++) {
      const stored = (await findBalance(db, accountId))?.sequence ?? 0n;
      const missing = beforeSequence - 1n - stored;
      if (missing <= 0n) return;
      const limit = Number(missing < BigInt(ledgerPageSize) ? missing : BigInt(ledgerPageSize));
      const entries = (await ledger.entriesAfter(accountId, stored, limit)).filter((e) => e.accountId === accountId && e.sequence < beforeSequence);
      if (entries.length === 0) throw new Error(`the ledger has no entries of account ${accountId} after sequence ${stored}`);
      let result: BatchResult;
      try {
        result = await applyBatch(entries);
      } catch (error) {
        if (error instanceof GapError) throw new Error(`the ledger's entries of account ${accountId} after sequence ${stored} are not contiguous`);
        throw error;
      }
      stats.repaired += result.applied;
      await writeCache(result.views);
    }
    throw new Error(`the gap of account ${accountId} is wider than ${repairPagesMax} pages; the next delivery goes on repairing`);
  };

  return {
    stats,

    async accountOpened(account) {
      const outcome = await db.tx(async (q) => {
        const stored = await lockOrCreateBalance(q, { ...account, updatedAt: account.createdAt });
        if (stored.currency !== account.currency) {
          throw new InvalidEventError(account.accountId, 'currency_mismatch', `opened in ${account.currency}, entries in ${stored.currency}`);
        }
        if (stored.ownerId === account.ownerId) return { view: stored, ownerFilled: false };
        if (stored.ownerId !== null) throw new InvalidEventError(account.accountId, 'owner_mismatch', 'the account already has another owner');
        await setOwner(q, account.accountId, account.ownerId);
        return { view: { ...stored, ownerId: account.ownerId }, ownerFilled: true };
      });
      stats.accountsOpened++;
      // A cached balance of the same version still says "no owner": drop it so the next read refills it.
      if (outcome.ownerFilled) await cache.forget(account.accountId);
      else await cache.write(outcome.view);
    },

    async transactionCreated(entries) {
      for (let round = 1; ; round++) {
        let result: BatchResult;
        try {
          result = await applyBatch(entries);
        } catch (error) {
          if (error instanceof InvalidEventError) stats.rejected++;
          if (!(error instanceof GapError) || round >= repairRoundsMax) throw error;
          for (const gap of error.gaps) await repair(gap);
          continue;
        }
        stats.applied += result.applied;
        stats.duplicates += result.duplicates;
        await writeCache(result.views);
        return;
      }
    },
  };
}
