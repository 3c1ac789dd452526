// Evaluates balance alerts after the projector's commits, off its path: the projector hands over the
// accounts it touched (`touched`, which only queues them), and a single drain loop evaluates the
// queued accounts that have alerts, a few at a time. A periodic sweep finds whatever a crash, a full
// queue or a failed evaluation left behind (an alert whose balance row changed since it was last
// evaluated), so nothing depends on the hand-over.
//
// One evaluation is one transaction: lock the account's alert rows, read the balance row and the
// persisted entries after the alerts' checked sequence, decide the crossings (domain/alerts.ts),
// advance the alerts and append one `balance.alert_triggered` outbox row per crossing — together.
// Another replica evaluating the same account waits for the row locks and then finds the work done.
import { appendOutbox, envelope, type Db } from '@wallet/kit';
import { eventTypes, type BalanceAlertTriggered } from '@wallet/contracts';
import { availableAfter, evaluateAlert, type BalancePoint } from '../domain/alerts.ts';
import { availableOf, type BalanceView } from '../domain/balance.ts';
import { accountsToEvaluate, entriesBetween, lockAlerts, saveAlerts, type AlertUpdate } from '../store/alerts.ts';
import { findBalance, SCHEMA } from '../store/balances.ts';

export interface AlertEvaluatorOptions {
  db: Db;
  log: { warn(obj: object, msg: string): void };
  /** Evaluations (transactions) running at once. */
  concurrency: number;
  /** Accounts queued at most; beyond that the sweep finds them. */
  queueMax: number;
  /** How often the sweep looks for alerts left unevaluated; 0 disables it (tests). */
  sweepIntervalMs: number;
  /** Entries one evaluation walks at most; a longer backlog goes on in the next one. */
  entriesPerEvaluationMax: number;
  /** Told after a commit that appended events (wakes the outbox relay). */
  onTriggered?: () => void;
}

export interface AlertEvaluatorStats {
  /** Evaluations committed. */
  evaluations: number;
  /** Crossings found, i.e. events appended to the outbox. */
  triggered: number;
  /** Evaluations or queue checks that failed (the sweep retries them). */
  failures: number;
  /** Accounts not queued because the queue was full (the sweep finds them). */
  dropped: number;
}

export interface AlertEvaluator {
  readonly stats: Readonly<AlertEvaluatorStats>;
  /** The projector's `onCommitted`: queues the accounts, never throws, never waits. */
  touched(views: readonly BalanceView[]): void;
  /** Evaluates one account's alerts now; returns the crossings it published. */
  evaluate(accountId: string): Promise<number>;
  /** Queues every account with an alert left unevaluated, and waits for the queue to drain. */
  sweep(): Promise<void>;
  /** Resolves once nothing is queued or running. */
  idle(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

/** Accounts checked for alerts per query. */
const accountsPerRound = 500;

export function createAlertEvaluator(options: AlertEvaluatorOptions): AlertEvaluator {
  const { db, log, concurrency, queueMax, sweepIntervalMs, entriesPerEvaluationMax, onTriggered } = options;
  const stats: AlertEvaluatorStats = { evaluations: 0, triggered: 0, failures: 0, dropped: 0 };
  const queued = new Set<string>();
  let draining: Promise<void> | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  /** One transaction; `more` when the backlog was longer than one evaluation walks. */
  const evaluateOnce = (accountId: string) =>
    db.tx(async (q) => {
      const alerts = await lockAlerts(q, accountId);
      if (alerts.length === 0) return { triggered: 0, more: false };
      const balance = await findBalance(q, accountId);
      if (!balance || balance.currency === null) return { triggered: 0, more: false };
      const currency = balance.currency;
      const after = alerts.reduce((min, a) => (a.checkedSequence < min ? a.checkedSequence : min), balance.sequence);
      const entries = after < balance.sequence ? await entriesBetween(q, accountId, after, balance.sequence, entriesPerEvaluationMax) : [];
      const reached = entries.length < entriesPerEvaluationMax || entries.at(-1)!.sequence >= balance.sequence;
      const points: BalancePoint[] = entries.map((e) => ({ sequence: e.sequence, available: availableAfter(e, balance.overdraftLimit), at: e.createdAt }));
      // The balance as it stands: after the last entry, with the limit now (a limits change alone moves it).
      const current: BalancePoint | undefined = reached ? { sequence: balance.sequence, available: availableOf(balance), at: balance.updatedAt } : undefined;

      const updates: AlertUpdate[] = [];
      const events = [];
      for (const alert of alerts) {
        const result = evaluateAlert(alert, points, current);
        for (const crossing of result.crossings) {
          const data: BalanceAlertTriggered = {
            alertId: alert.id,
            accountId,
            ownerId: alert.ownerId,
            currency,
            below: alert.below.toString(),
            balanceBefore: crossing.balanceBefore.toString(),
            balanceAfter: crossing.balanceAfter.toString(),
            sequence: crossing.sequence.toString(),
            at: crossing.at,
          };
          events.push(envelope('balance', eventTypes.balanceAlertTriggered, data));
        }
        updates.push({
          id: alert.id,
          state: result.state,
          checkedSequence: result.checkedSequence,
          checkedAvailable: result.checkedAvailable,
          // Only a walk that reached the balance as it stands has caught up with this revision.
          checkedRevision: reached ? balance.revision : alert.checkedRevision,
          triggered: result.crossings.length,
          lastTriggeredAt: result.crossings.at(-1)?.at ?? null,
        });
      }
      await saveAlerts(q, updates);
      await appendOutbox(q, SCHEMA, events);
      return { triggered: events.length, more: !reached };
    });

  const evaluate = async (accountId: string): Promise<number> => {
    let triggered = 0;
    for (;;) {
      const once = await evaluateOnce(accountId);
      stats.evaluations++;
      stats.triggered += once.triggered;
      triggered += once.triggered;
      if (once.triggered > 0) onTriggered?.();
      if (!once.more || stopped) return triggered;
    }
  };

  /** Evaluates the queued accounts that have alerts to evaluate, `concurrency` at a time, until the queue is empty. */
  const drain = async () => {
    while (queued.size > 0 && !stopped) {
      const ids = [...queued].slice(0, accountsPerRound);
      for (const id of ids) queued.delete(id);
      let due: string[];
      try {
        due = await accountsToEvaluate(db, ids, ids.length);
      } catch (error) {
        stats.failures++;
        log.warn({ err: error, accounts: ids.length }, 'balance alerts: could not check accounts; the sweep will');
        return;
      }
      const work = [...due];
      const worker = async () => {
        for (let accountId = work.shift(); accountId !== undefined && !stopped; accountId = work.shift()) {
          try {
            await evaluate(accountId);
          } catch (error) {
            stats.failures++;
            log.warn({ err: error, accountId }, 'balance alerts: evaluation failed; the sweep will retry');
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, work.length) }, worker));
    }
  };

  const schedule = () => {
    if (draining || stopped || queued.size === 0) return;
    // Started on a later tick: the caller (the projector, right after a commit) does not wait for it.
    draining = new Promise<void>((resolve) => setImmediate(resolve))
      .then(drain)
      .finally(() => {
        draining = undefined;
        schedule();
      });
  };

  const queue = (accountIds: Iterable<string>) => {
    for (const accountId of accountIds) {
      if (queued.size >= queueMax && !queued.has(accountId)) stats.dropped++;
      else queued.add(accountId);
    }
    schedule();
  };

  const idle = async () => {
    while (draining) await draining;
  };

  const sweep = async () => {
    queue(await accountsToEvaluate(db, undefined, queueMax));
    await idle();
  };

  const tick = () => {
    sweepTimer = setTimeout(() => {
      sweep()
        .catch((error: unknown) => {
          stats.failures++;
          log.warn({ err: error }, 'balance alerts: sweep failed; will retry');
        })
        .finally(() => {
          if (!stopped) tick();
        });
    }, sweepIntervalMs);
    sweepTimer.unref();
  };

  return {
    stats,
    touched(views) {
      if (stopped) return;
      try {
        queue(views.map((view) => view.accountId));
      } catch (error) {
        // Never into the projector: the sweep catches what this missed.
        log.warn({ err: error }, 'balance alerts: could not queue accounts');
      }
    },
    evaluate,
    sweep,
    idle,
    start() {
      if (sweepIntervalMs > 0 && !stopped) tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(sweepTimer);
      await idle();
    },
  };
}
