// Applies account and ledger events to the balance tables, then to the cache.
// A batch of events is ONE PostgreSQL transaction: the rows it touches are locked in account-id
// order, the events are decided in delivery order in memory (domain/batch.ts), and the result is
// written set-based (one UPDATE and one INSERT from unnest, in one statement); then ONE cache
// pipeline, which runs beside the next batch's transaction. An event that waits for missing
// entries is applied on its own after the batch, once its gap is filled from the ledger — never
// skipped; an event that contradicts the balances is never applied, and nothing else waits for it.
import type { Db, Settled } from '@wallet/kit';
import { crashPoint } from '@wallet/kit/crash';
import type { BalanceView } from '../domain/balance.ts';
import { planBatch, possibleDuplicates, startingRows, type BalanceEvent, type BatchPlan, type Gap, type RefusalReason } from '../domain/batch.ts';
import type { BalanceCache } from '../store/balance-cache.ts';
import { deleteBalances, findBalance, findRecordedEntries, insertMissingBalances, lockBalances, saveBatch } from '../store/balances.ts';
import type { LedgerClient } from './ledger-client.ts';

/** An event that contradicts the stored balances. Thrown so the broker retries and then dead-letters it. */
export class InvalidEventError extends Error {
  readonly accountId: string;
  readonly reason: RefusalReason;
  readonly sequence: bigint | undefined;
  constructor(accountId: string, reason: RefusalReason, detail: string, sequence?: bigint) {
    super(`account ${accountId}${sequence === undefined ? '' : ` entry ${sequence}`}: ${reason}: ${detail}`);
    this.name = 'InvalidEventError';
    this.accountId = accountId;
    this.reason = reason;
    this.sequence = sequence;
  }
}

export interface ProjectorStats {
  accountsOpened: number;
  /** account.limits_changed events committed (also those older than the limit held, which change nothing). */
  limitsChanged: number;
  /** Events committed (account.opened, account.limits_changed and the entry-bearing ones), including those that were all duplicates. */
  events: number;
  /** Entries applied from events. */
  applied: number;
  /** Entries applied from the ledger to fill gaps. */
  repaired: number;
  /** Gaps filled from the ledger. */
  gapsRepaired: number;
  /** Entries skipped because they were already applied. */
  duplicates: number;
  /** Deliveries refused because the event contradicts the stored balances. */
  rejected: number;
  /** Batches decided, and the most events one of them held. */
  batches: number;
  largestBatch: number;
}

/** Hooks for the consumer's metrics; the projector itself knows nothing of Prometheus. */
export interface ProjectorObserver {
  /** A batch of `events` was handed to the projector. */
  batch(events: number): void;
  /** Events committed: how many, how many entries were duplicates, and the age of each applied transfer. */
  committed(report: { events: number; duplicates: number; lagsSeconds: readonly number[] }): void;
  /** A gap was filled from the ledger with `entries` entries. */
  gapRepaired(entries: number): void;
}

export interface ProjectorOptions {
  db: Db;
  cache: BalanceCache;
  ledger: LedgerClient;
  /** Entries asked of the ledger per page. */
  ledgerPageSize: number;
  /** Pages one gap repair may fetch in one delivery; the progress is kept and the next delivery goes on. */
  repairPagesMax: number;
  observer?: ProjectorObserver;
  /** Told of every committed change (balance streams, alerts); called after the commit, never throws into the projector. */
  onCommitted?: (touched: readonly BalanceView[]) => void;
}

/** An event committed to PostgreSQL; `cached` settles once the cache holds its balances too. */
export interface Applied {
  cached: Promise<void>;
}

export interface Projector {
  readonly stats: Readonly<ProjectorStats>;
  /** Applies events given in delivery order; one result per event, settled once its changes are committed. */
  applyBatch(events: readonly BalanceEvent[]): Promise<Settled<Applied>[]>;
  /** Applies one event on its own, filling gaps from the ledger first. */
  apply(event: BalanceEvent): Promise<Applied>;
}

/** Repair rounds per event: a second gap only appears if another consumer raced this one. */
const repairRoundsMax = 3;

const refusal = (outcome: { accountId: string; reason: RefusalReason; detail: string; sequence?: bigint }) =>
  new InvalidEventError(outcome.accountId, outcome.reason, outcome.detail, outcome.sequence);

const silentObserver: ProjectorObserver = { batch: () => undefined, committed: () => undefined, gapRepaired: () => undefined };

export function createProjector({ db, cache, ledger, ledgerPageSize, repairPagesMax, observer = silentObserver, onCommitted }: ProjectorOptions): Projector {
  const stats: ProjectorStats = { accountsOpened: 0, limitsChanged: 0, events: 0, applied: 0, repaired: 0, gapsRepaired: 0, duplicates: 0, rejected: 0, batches: 0, largestBatch: 0 };

  /** Decides and writes events in one transaction. Rows of accounts no applied event used are not kept. */
  const commit = (events: readonly BalanceEvent[]): Promise<BatchPlan> =>
    db.tx(async (q) => {
      const starting = startingRows(events);
      const locked = await lockBalances(q, starting.map((row) => row.accountId));
      let inserted = new Set<string>();
      if (locked.length < starting.length) {
        // Accounts new to this service (account.opened, or entries that overtook it): insert their rows.
        const present = new Set(locked.map((row) => row.accountId));
        const missing = starting.filter((row) => !present.has(row.accountId));
        inserted = await insertMissingBalances(q, missing);
        // A row another consumer committed since the lock above: lock it as well.
        locked.push(...(await lockBalances(q, missing.filter((row) => !inserted.has(row.accountId)).map((row) => row.accountId))));
      }
      // A row inserted just now is no state yet: the first event that applies to it decides it.
      const stored = new Map<string, BalanceView>(locked.filter((row) => !inserted.has(row.accountId)).map((row) => [row.accountId, row]));
      const recorded = await findRecordedEntries(q, possibleDuplicates(stored, events));
      const plan = planBatch(stored, recorded, events);
      await saveBatch(q, plan.changed, plan.entries);
      crashPoint('projector.mid_batch');
      const used = new Set(plan.touched.map((view) => view.accountId));
      await deleteBalances(q, [...inserted].filter((accountId) => !used.has(accountId)));
      return plan;
    });

  // Cache writes run one after another, beside the next batch's transaction. Each is one pipeline,
  // versioned by the rows' revisions (a filled-in owner or a new limit bumps it too, so every change
  // replaces the cached copy); failures are absorbed and retried by the BalanceCache, so this chain
  // never rejects.
  let cacheTail: Promise<void> = Promise.resolve();
  const toCache = (plan: BatchPlan): Promise<void> => {
    if (plan.touched.length > 0) onCommitted?.(plan.touched);
    const written = cacheTail.then(() => cache.writeMany(plan.touched));
    cacheTail = written.catch(() => undefined);
    return written;
  };

  /** Right after a commit: the counters and metrics; the cache write starts and is returned. */
  const committed = (events: readonly BalanceEvent[], plan: BatchPlan): Promise<void> => {
    const cached = toCache(plan);
    const now = Date.now();
    const lagsSeconds: number[] = [];
    let count = 0;
    let duplicates = 0;
    plan.outcomes.forEach((outcome, i) => {
      if (outcome.kind !== 'applied') return;
      const event = events[i]!;
      count++;
      duplicates += outcome.duplicates;
      if (event.kind === 'account_opened') stats.accountsOpened++;
      else if (event.kind === 'limits_changed') stats.limitsChanged++;
      else if (outcome.entries > 0 && event.createdAt) lagsSeconds.push(Math.max(0, now - Date.parse(event.createdAt)) / 1000);
      stats.applied += outcome.entries;
    });
    stats.events += count;
    stats.duplicates += duplicates;
    if (count > 0) observer.committed({ events: count, duplicates, lagsSeconds });
    return cached;
  };

  /** Fetches and applies the ledger's entries of one account up to just before `beforeSequence`. */
  const repair = async ({ accountId, beforeSequence }: Gap) => {
    let repaired = 0;
    for (let page = 0; ; page++) {
      const stored = (await findBalance(db, accountId))?.sequence ?? 0n;
      const missing = beforeSequence - 1n - stored;
      if (missing <= 0n) break;
      if (page >= repairPagesMax) throw new Error(`the gap of account ${accountId} is wider than ${repairPagesMax} pages; the next delivery goes on repairing`);
      const limit = Number(missing < BigInt(ledgerPageSize) ? missing : BigInt(ledgerPageSize));
      const entries = (await ledger.entriesAfter(accountId, stored, limit)).filter((e) => e.accountId === accountId && e.sequence < beforeSequence);
      if (entries.length === 0) throw new Error(`the ledger has no entries of account ${accountId} after sequence ${stored}`);
      const plan = await commit([{ kind: 'entries', entries }]);
      const outcome = plan.outcomes[0]!;
      if (outcome.kind === 'gap') throw new Error(`the ledger's entries of account ${accountId} after sequence ${stored} are not contiguous`);
      if (outcome.kind === 'invalid') throw refusal(outcome);
      stats.repaired += outcome.entries;
      repaired += outcome.entries;
      await toCache(plan);
    }
    if (repaired > 0) {
      stats.gapsRepaired++;
      observer.gapRepaired(repaired);
    }
  };

  const apply = async (event: BalanceEvent): Promise<Applied> => {
    try {
      for (let round = 1; ; round++) {
        const plan = await commit([event]);
        const outcome = plan.outcomes[0]!;
        if (outcome.kind === 'invalid') throw refusal(outcome);
        if (outcome.kind === 'applied') return { cached: committed([event], plan) };
        if (round >= repairRoundsMax) {
          throw new Error(`entries still missing after ${repairRoundsMax} repairs: ${outcome.gaps.map((g) => `${g.accountId}#${g.beforeSequence}`).join(', ')}`);
        }
        for (const gap of outcome.gaps) await repair(gap);
      }
    } catch (error) {
      if (error instanceof InvalidEventError) stats.rejected++;
      throw error;
    }
  };

  const pingable = () => db.ping().then(
    () => true,
    () => false,
  );

  /**
   * Events one at a time, in order, each in its own transaction, so that one failure fails only its
   * own event. Once one fails and the database does not answer, the rest fail with it at once.
   */
  const oneByOne = async (events: readonly BalanceEvent[]): Promise<Settled<Applied>[]> => {
    const results: Settled<Applied>[] = [];
    let unavailable: { error: unknown } | undefined;
    for (const event of events) {
      if (unavailable) {
        results.push({ ok: false, error: unavailable.error });
        continue;
      }
      try {
        results.push({ ok: true, value: await apply(event) });
      } catch (error) {
        results.push({ ok: false, error });
        if (!(error instanceof InvalidEventError) && !(await pingable())) unavailable = { error };
      }
    }
    return results;
  };

  return {
    stats,
    apply,

    async applyBatch(events) {
      stats.batches++;
      stats.largestBatch = Math.max(stats.largestBatch, events.length);
      observer.batch(events.length);
      let plan: BatchPlan;
      try {
        plan = await commit(events);
      } catch (error) {
        // Nothing of the batch was written. Alone, each event gets its own chance.
        if (events.length === 1) return [{ ok: false, error }];
        return oneByOne(events);
      }
      const applied: Applied = { cached: committed(events, plan) };
      const results = plan.outcomes.map((outcome): Settled<Applied> => {
        if (outcome.kind !== 'invalid') return { ok: true, value: applied };
        stats.rejected++;
        return { ok: false, error: refusal(outcome) };
      });
      // Events waiting for missing entries: each alone, after the batch, with a repair from the ledger.
      const waiting = plan.outcomes.flatMap((outcome, i) => (outcome.kind === 'gap' ? [i] : []));
      if (waiting.length > 0) {
        const retried = await oneByOne(waiting.map((i) => events[i]!));
        waiting.forEach((index, k) => (results[index] = retried[k]!));
      }
      return results;
    },
  };
}
