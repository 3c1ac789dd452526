// The periodic drift check: compares every projected balance — the PostgreSQL row (with its last
// history entry) and the cached copy — with the ledger's balance at the same sequence, repairs what
// differs from the ledger (rebuild/repair.ts: under the row's lock, so it never races the consumer),
// refills missing or old cached copies, and measures how far the projection is behind.
//
// A check (a sweep) walks every account in id order, a page at a time; one run does at most
// `accountsPerRunMax` accounts and the next run goes on where it stopped, so a run's work is bounded
// however many accounts there are. The metrics describe the last completed sweep.
import type { Db } from '@wallet/kit';
import type { LedgerAccountBalance, LedgerReader } from '../events/ledger-client.ts';
import type { BalanceCache } from '../store/balance-cache.ts';
import { inspectAccounts, readPage } from '../rebuild/check.ts';
import { projectionDrifts, type AccountCheck, type Drift } from '../rebuild/compare.ts';
import { UnknownAccountError, type Repairer } from '../rebuild/repair.ts';

export type RepairKind = 'projection' | 'cache' | 'catch_up';

export interface DriftReport {
  /** Accounts compared. */
  accounts: number;
  /** Accounts found drifted (row, history or cached copy differing from the ledger at the same sequence). */
  drifted: number;
  /** Of those, repaired from the ledger. */
  repaired: number;
  /** Repairs that failed (retried by the next sweep). */
  failed: number;
  /** Drifted accounts the ledger does not know (not repairable from it). */
  unknown: number;
  /** Cached copies written because they were missing or older than their row. */
  cacheRefilled: number;
  /** Accounts behind the ledger, and the most and total entries any one of them was behind. */
  lagging: number;
  lagMax: bigint;
  lagSum: bigint;
  /** Accounts that stayed behind at the same sequence over two sweeps and were caught up from the ledger. */
  caughtUp: number;
  /** The drifts found (the first `findingsMax`). */
  findings: Drift[];
  startedAt: string;
  completedAt: string;
}

/** Hooks for the metrics (events/metrics.ts); the check itself knows nothing of Prometheus. */
export interface DriftObserver {
  completed(report: DriftReport): void;
  repaired(kind: RepairKind): void;
  repairFailed(): void;
  cacheRefilled(count: number): void;
}

interface Log {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface DriftCheckOptions {
  db: Db;
  cache: BalanceCache;
  ledger: LedgerReader;
  repairer: Repairer;
  log: Log;
  observer?: DriftObserver;
  /** Accounts per page (one listing, one read of the projection, one ledger call). */
  pageSize: number;
  /** Accounts one run compares at most; the next run goes on from there. */
  accountsPerRunMax: number;
  /** Repair drifted accounts (otherwise only report them). */
  repair: boolean;
}

export interface DriftChecker {
  /** One run: goes on with the current sweep for at most `accountsPerRunMax` accounts; the report if the sweep completed. */
  run(): Promise<DriftReport | undefined>;
  /** A whole sweep at once, from the first account (tests, operators). */
  checkAll(): Promise<DriftReport>;
  /** The last completed sweep's report. */
  readonly last: DriftReport | undefined;
  /** Runs every `intervalMs`, the first after `firstDelayMs`. */
  start(intervalMs: number, firstDelayMs: number): void;
  stop(): Promise<void>;
}

const findingsMax = 100;
const rememberedMax = 10_000;
const silentObserver: DriftObserver = { completed: () => undefined, repaired: () => undefined, repairFailed: () => undefined, cacheRefilled: () => undefined };

const show = (drift: Drift) => ({
  accountId: drift.accountId,
  kind: drift.kind,
  sequence: drift.sequence.toString(),
  projected: drift.projected && { posted: drift.projected.posted.toString(), pending: drift.projected.pending.toString() },
  ledger: drift.ledger && { balance: drift.ledger.balance.toString(), pending: drift.ledger.pending.toString() },
  ledgerSequence: drift.ledgerSequence?.toString() ?? null,
  detail: drift.detail,
});

interface Sweep {
  report: DriftReport;
  /** Where the next page starts; null before the first. */
  after: string | null;
  /** Accounts behind the ledger in this sweep, with their projected sequence. */
  behind: Map<string, bigint>;
}

export function createDriftChecker({ db, cache, ledger, repairer, log, observer = silentObserver, pageSize, accountsPerRunMax, repair }: DriftCheckOptions): DriftChecker {
  let sweep: Sweep | undefined;
  let last: DriftReport | undefined;
  /** Accounts behind the ledger in the last completed sweep: one still behind at the same sequence is stuck. */
  let behindBefore = new Map<string, bigint>();
  /** Drifts already logged (account, kind, sequence): each is logged once. */
  const logged = new Set<string>();
  let running: Promise<DriftReport | undefined> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const newSweep = (): Sweep => ({
    after: null,
    behind: new Map(),
    report: {
      accounts: 0,
      drifted: 0,
      repaired: 0,
      failed: 0,
      unknown: 0,
      cacheRefilled: 0,
      lagging: 0,
      lagMax: 0n,
      lagSum: 0n,
      caughtUp: 0,
      findings: [],
      startedAt: new Date().toISOString(),
      completedAt: '',
    },
  });

  const logOnce = (drift: Drift) => {
    const key = `${drift.accountId}/${drift.kind}/${drift.sequence}`;
    if (logged.has(key)) return;
    if (logged.size >= rememberedMax) logged.clear();
    logged.add(key);
    log.warn(show(drift), 'balance drift: the projection differs from the ledger at the same sequence');
  };

  const repairAccount = async (check: AccountCheck, report: DriftReport) => {
    const kinds = new Set(check.drifts.map((d) => d.kind));
    if (kinds.has('unknown_account')) {
      report.unknown++;
      return;
    }
    if (!repair) return;
    const whole = [...kinds].some((kind) => projectionDrifts.has(kind));
    try {
      if (!check.row) {
        // A cached copy without a row: nothing to rewrite, the copy goes.
        if (!(await cache.remove(check.accountId))) throw new Error('the cache did not answer');
      } else {
        const result = await repairer.repair(check.accountId, {
          history: whole,
          ...(whole && check.ledgerSequence !== null ? { catchUpTo: check.ledgerSequence } : {}),
        });
        log.info(
          {
            accountId: check.accountId,
            kinds: [...kinds],
            sequence: result.after?.sequence.toString(),
            posted: result.after?.posted.toString(),
            pending: result.after?.pending.toString(),
            revision: result.after?.revision.toString(),
            entriesRewritten: result.entriesRewritten,
            entriesApplied: result.entriesApplied,
          },
          'balance drift repaired from the ledger',
        );
      }
      report.repaired++;
      observer.repaired(whole ? 'projection' : 'cache');
    } catch (error) {
      report.failed++;
      observer.repairFailed();
      if (error instanceof UnknownAccountError) report.unknown++;
      log.error({ err: error, accountId: check.accountId }, 'balance drift repair failed; the next check tries again');
    }
  };

  /** An account behind the ledger at the same sequence as in the last sweep: its events are not coming (dead-lettered, lost). */
  const catchUp = async (check: AccountCheck, report: DriftReport, facts: LedgerAccountBalance | undefined) => {
    try {
      const result = await repairer.repair(check.accountId, { history: false, catchUpTo: check.ledgerSequence!, create: !check.row, ...(facts ? { facts } : {}) });
      report.caughtUp++;
      observer.repaired('catch_up');
      log.warn(
        { accountId: check.accountId, from: check.row?.sequence.toString() ?? '0', to: result.after?.sequence.toString(), entriesApplied: result.entriesApplied },
        'balance stayed behind the ledger since the last check; caught up from the ledger',
      );
    } catch (error) {
      report.failed++;
      observer.repairFailed();
      log.error({ err: error, accountId: check.accountId }, 'catching a balance up with the ledger failed; the next check tries again');
    }
  };

  const handle = async (current: Sweep, checks: AccountCheck[], facts: ReadonlyMap<string, LedgerAccountBalance>) => {
    const { report } = current;
    const refill = [];
    for (const check of checks) {
      report.accounts++;
      if (check.lag !== null && check.lag > 0n) {
        report.lagging++;
        report.lagSum += check.lag;
        if (check.lag > report.lagMax) report.lagMax = check.lag;
      }
      if (check.drifts.length > 0) {
        report.drifted++;
        for (const drift of check.drifts) {
          logOnce(drift);
          if (report.findings.length < findingsMax) report.findings.push(drift);
        }
        await repairAccount(check, report);
        continue;
      }
      if (check.refillCache && check.row) refill.push(check.row);
      if (check.lag !== null && check.lag > 0n) {
        const projected = check.row?.sequence ?? 0n;
        if (repair && behindBefore.get(check.accountId) === projected) await catchUp(check, report, facts.get(check.accountId));
        else if (current.behind.size < rememberedMax) current.behind.set(check.accountId, projected);
      }
    }
    if (refill.length > 0) {
      await cache.writeMany(refill);
      report.cacheRefilled += refill.length;
      observer.cacheRefilled(refill.length);
    }
  };

  /** Goes on with the sweep for at most `budget` accounts; the report once the sweep is complete. */
  const advance = async (budget: number): Promise<DriftReport | undefined> => {
    let done = 0;
    while (done < budget) {
      const current = (sweep ??= newSweep());
      const page = await readPage(db, ledger, current.after, Math.min(pageSize, Math.max(1, budget - done)));
      if (page.accountIds.length > 0) await handle(current, await inspectAccounts(db, cache, ledger, page.accountIds), page.ledger);
      done += Math.max(1, page.accountIds.length);
      if (page.next !== null) {
        current.after = page.next;
        continue;
      }
      current.report.completedAt = new Date().toISOString();
      sweep = undefined;
      last = current.report;
      behindBefore = current.behind;
      observer.completed(current.report);
      const { report } = current;
      const summary = { accounts: report.accounts, drifted: report.drifted, repaired: report.repaired, failed: report.failed, unknown: report.unknown, cacheRefilled: report.cacheRefilled, lagging: report.lagging, lagMax: report.lagMax.toString(), caughtUp: report.caughtUp };
      if (report.drifted > 0 || report.failed > 0) log.warn(summary, 'balance drift check completed: drift found');
      else log.info(summary, 'balance drift check completed');
      return current.report;
    }
    return undefined;
  };

  const exclusive = (work: () => Promise<DriftReport | undefined>) => {
    const next = (running ?? Promise.resolve(undefined)).catch(() => undefined).then(work);
    running = next;
    return next.finally(() => {
      if (running === next) running = undefined;
    });
  };

  const schedule = (ms: number, intervalMs: number) => {
    if (stopped) return;
    timer = setTimeout(() => {
      exclusive(() => advance(accountsPerRunMax))
        .catch((error: unknown) => log.error({ err: error }, 'balance drift check failed; the next run goes on'))
        .finally(() => schedule(intervalMs, intervalMs));
    }, ms);
    timer.unref();
  };

  return {
    get last() {
      return last;
    },
    run: () => exclusive(() => advance(accountsPerRunMax)),
    checkAll: async () => {
      const report = await exclusive(async () => {
        sweep = undefined;
        return advance(Number.MAX_SAFE_INTEGER);
      });
      return report!;
    },
    start(intervalMs, firstDelayMs) {
      stopped = false;
      schedule(firstDelayMs, intervalMs);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
