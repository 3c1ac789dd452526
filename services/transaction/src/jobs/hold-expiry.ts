// Voids holds whose timeout passed. The holds table is the job's memory, so it survives restarts,
// and several instances may run it: a hold changes state once, under its account's lock, so each
// expires exactly once whoever gets there first (a late post or void expires it too).
import type { Db } from '@wallet/kit';
import type { LedgerService } from '../ledger/service.ts';
import { dueHolds } from '../store/hold-store.ts';

export interface HoldExpiry {
  /** Expires every hold due now, in slices; returns how many were due. */
  run(): Promise<number>;
  stop(): void;
}

export function startHoldExpiry(db: Db, ledger: LedgerService, intervalMs: number, log: { warn(obj: object, msg: string): void }): HoldExpiry {
  const sliceSize = 500;
  const slicesPerRunMax = 20;
  let running: Promise<number> | undefined;
  const run = async () => {
    let due = 0;
    for (let slice = 0; slice < slicesPerRunMax; slice++) {
      const holds = await dueHolds(db, new Date(), sliceSize);
      await ledger.expire(holds);
      due += holds.length;
      if (holds.length < sliceSize) break;
    }
    return due;
  };
  const once = () => (running ??= run().finally(() => (running = undefined)));
  const timer = setInterval(() => {
    once().catch((error) => log.warn({ err: error }, 'hold expiry failed; will retry'));
  }, intervalMs);
  timer.unref();
  return { run: once, stop: () => clearInterval(timer) };
}
