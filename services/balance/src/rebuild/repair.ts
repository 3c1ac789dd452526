// Repairs one account's projection from the ledger: its history, its row (with a higher revision, so
// the versioned cache takes the new copy) and its cached copy; then, if asked, catches it up with the
// ledger. Never races the consumer: every change to the row is made under the row's lock
// (SELECT … FOR UPDATE, as the projector takes it), and no ledger call is made while it is held —
// the ledger is read first, and the transaction gives up and starts again if the row moved meanwhile.
// History entries are written outside the lock only at sequences the row has already passed, which
// the consumer never writes again.
import type { Db } from '@wallet/kit';
import { planEntries } from '../domain/apply.ts';
import type { BalanceView } from '../domain/balance.ts';
import { INT8_MAX, type Entry } from '../domain/entry.ts';
import type { LedgerAccountBalance, LedgerReader } from '../events/ledger-client.ts';
import type { BalanceCache } from '../store/balance-cache.ts';
import { findBalance, insertMissingBalances, lockBalances, saveBatch } from '../store/balances.ts';
import { deleteEntriesAfter, rewriteBalance, writeLedgerEntries } from './store.ts';

export interface RepairOptions {
  /** Compare and rewrite the whole history with the ledger's entries (otherwise only the row, from its sequence on). */
  history: boolean;
  /** Then apply the ledger's entries past the row's sequence up to this one (the consumer would, once their events come). */
  catchUpTo?: bigint;
  /** Create the row when there is none (the rebuild, for accounts the projection never saw). */
  create?: boolean;
  /** The ledger's copy of the account: fills in an unknown owner, and the limit when no account event set one. */
  facts?: LedgerAccountBalance;
}

export interface RepairResult {
  before: BalanceView | undefined;
  after: BalanceView | undefined;
  /** Entries read from the ledger. */
  entriesRead: number;
  /** History entries inserted, overwritten or deleted to match the ledger. */
  entriesRewritten: number;
  /** Entries applied past the row's sequence (catching up). */
  entriesApplied: number;
}

export class UnknownAccountError extends Error {
  readonly accountId: string;
  constructor(accountId: string) {
    super(`the ledger has no account ${accountId}`);
    this.name = 'UnknownAccountError';
    this.accountId = accountId;
  }
}

export interface RepairerOptions {
  db: Db;
  cache: BalanceCache;
  ledger: LedgerReader;
  /** Entries per ledger page. */
  pageSize: number;
  /** Times the row may move under a repair (the consumer applying events) before it gives up. */
  attemptsMax?: number;
  /** Told of every committed change, like the projector's listener; called after the commit, must not throw. */
  onCommitted?: (touched: readonly BalanceView[]) => void;
}

export interface Repairer {
  repair(accountId: string, options: RepairOptions): Promise<RepairResult>;
}

const later = (a: string, b: string) => (a < b ? b : a);
const min = (a: bigint, b: bigint) => (a < b ? a : b);

export function createRepairer({ db, cache, ledger, pageSize, attemptsMax = 10, onCommitted }: RepairerOptions): Repairer {
  /** The ledger's entries of the account in (after, upTo], page by page, checked to be contiguous. */
  const readEntries = async (accountId: string, after: bigint, upTo: bigint, each: (page: Entry[]) => Promise<void>): Promise<number> => {
    let read = 0;
    let cursor = after;
    while (cursor < upTo) {
      const limit = Number(min(BigInt(pageSize), upTo - cursor));
      const page = (await ledger.entriesAfter(accountId, cursor, limit)).filter((e) => e.accountId === accountId && e.sequence <= upTo);
      if (page.length === 0) break;
      page.forEach((entry, i) => {
        if (entry.sequence !== cursor + BigInt(i) + 1n) throw new Error(`the ledger's entries of account ${accountId} after sequence ${cursor} are not contiguous`);
      });
      read += page.length;
      await each(page);
      cursor = page.at(-1)!.sequence;
    }
    return read;
  };

  return {
    async repair(accountId, options) {
      const result: RepairResult = { before: await findBalance(db, accountId), after: undefined, entriesRead: 0, entriesRewritten: 0, entriesApplied: 0 };
      if (!result.before && !options.create) return result;

      // 1. The history up to the row's sequence, outside the lock: the consumer never writes those again.
      let synced = 0n;
      if (options.history && result.before && result.before.sequence > 0n) {
        const base = result.before.sequence;
        result.entriesRead += await readEntries(accountId, 0n, base, async (page) => {
          result.entriesRewritten += await writeLedgerEntries(db, page);
          synced = page.at(-1)!.sequence;
        });
      }

      // 2. The row, at its own sequence (or the ledger's last, if it is past it), under its lock.
      let repaired: BalanceView | undefined;
      let dropCachedCopy = false;
      for (let attempt = 1; !repaired; attempt++) {
        if (attempt > attemptsMax) throw new Error(`account ${accountId} kept moving during its repair (${attemptsMax} attempts)`);
        const row = await findBalance(db, accountId);
        if (!row && !options.create) return result;
        const sequence = row?.sequence ?? 0n;
        const [at] = await ledger.balancesAt([{ accountId, sequence }]);
        if (!at?.known || at.ledgerSequence === null || at.currency === null) throw new UnknownAccountError(accountId);
        let target = sequence;
        let state = at;
        if (at.balance === null) {
          target = at.ledgerSequence;
          [state] = (await ledger.balancesAt([{ accountId, sequence: target }])) as [typeof at];
          if (state.balance === null) continue; // the ledger moved back? read again
        }
        // What the consumer added to the history since step 1, read now (no ledger call under the lock).
        const extra: Entry[] = [];
        if (options.history && row && min(sequence, target) > synced) {
          result.entriesRead += await readEntries(accountId, synced, min(sequence, target), async (page) => void extra.push(...page));
        }
        const copy = await cache.inspect(accountId);
        const cachedVersion = copy.state === 'present' ? copy.version : 0n;
        // A copy whose version no revision can pass (or that is no number) is deleted after the commit instead.
        const passable = cachedVersion !== null && cachedVersion < INT8_MAX - 1_000_000n;

        const outcome = await db.tx(async (q) => {
          const facts = options.facts;
          if (!row) {
            await insertMissingBalances(q, [
              {
                accountId,
                ownerId: facts?.ownerId ?? null,
                currency: at.currency,
                posted: 0n,
                pending: 0n,
                overdraftLimit: 0n,
                limitsChangedAt: null,
                sequence: 0n,
                revision: 0n,
                updatedAt: new Date().toISOString(),
              },
            ]);
          }
          const [locked] = await lockBalances(q, [accountId]);
          if (!locked || locked.sequence !== sequence) return undefined; // the consumer moved it: start again
          const rewritten = (await deleteEntriesAfter(q, accountId, target)) + (await writeLedgerEntries(q, extra));
          const fillLimit = facts !== undefined && locked.limitsChangedAt === null;
          const next: BalanceView = {
            ...locked,
            ownerId: locked.ownerId ?? facts?.ownerId ?? null,
            currency: at.currency,
            posted: state.balance!,
            pending: state.pending!,
            overdraftLimit: fillLimit ? facts.overdraftLimit : locked.overdraftLimit,
            limitsChangedAt: fillLimit ? facts.limitsChangedAt : locked.limitsChangedAt,
            sequence: target,
            // Above the row's and above the cached copy's, so the versioned cache takes this one.
            revision: (passable && cachedVersion > locked.revision ? cachedVersion : locked.revision) + 1n,
          };
          await rewriteBalance(q, next);
          return { next, rewritten };
        });
        if (!outcome) continue;
        result.entriesRewritten += outcome.rewritten;
        repaired = outcome.next;
        dropCachedCopy = !passable;
      }
      onCommitted?.([repaired]);
      if (dropCachedCopy) await cache.remove(accountId);
      await cache.write(repaired);
      result.after = repaired;

      // 3. Catch up with the ledger, a page per transaction, each under the row's lock.
      const upTo = options.catchUpTo;
      while (upTo !== undefined && result.after.sequence < upTo) {
        const from = result.after.sequence;
        const page = (await ledger.entriesAfter(accountId, from, Number(min(BigInt(pageSize), upTo - from)))).filter((e) => e.accountId === accountId && e.sequence <= upTo);
        if (page.length === 0) throw new Error(`the ledger has no entries of account ${accountId} after sequence ${from}`);
        result.entriesRead += page.length;
        const outcome = await db.tx(async (q) => {
          const [locked] = await lockBalances(q, [accountId]);
          if (!locked) throw new Error(`account ${accountId} lost its row during its repair`);
          const plan = planEntries(locked, page);
          if (plan.kind === 'invalid') throw new Error(`the ledger's entry ${plan.entry.sequence} of account ${accountId} does not follow: ${plan.detail}`);
          if (plan.kind === 'gap') return { view: locked, applied: 0 }; // the row moved back meanwhile (another repair): read again
          const last = plan.apply.at(-1);
          if (!last) return { view: locked, applied: 0 }; // the consumer got there first
          const { currency, posted, pending, sequence } = plan.next;
          const next: BalanceView = { ...locked, currency, posted, pending, sequence, revision: locked.revision + 1n, updatedAt: later(locked.updatedAt, last.createdAt) };
          await saveBatch(q, [next], plan.apply);
          return { view: next, applied: plan.apply.length };
        });
        if (outcome.applied > 0) {
          onCommitted?.([outcome.view]);
          await cache.write(outcome.view);
        }
        result.entriesApplied += outcome.applied;
        if (outcome.applied === 0 && outcome.view.sequence === from) throw new Error(`account ${accountId} cannot catch up from sequence ${from}`);
        result.after = outcome.view;
      }
      return result;
    },
  };
}
