// Idempotency records are kept for a retention period (at least 24 hours), then removed by this
// job in bounded slices, so a large backlog never becomes one long transaction.
import type { Db } from '@wallet/kit';

export interface Sweeper {
  /** Removes expired records; returns how many. */
  sweep(): Promise<number>;
  stop(): void;
}

export function startIdempotencySweeper(db: Db, retentionHours: number, intervalMs: number, log: { warn(obj: object, msg: string): void }): Sweeper {
  const sliceSize = 1000;
  const slicesPerRunMax = 20;
  const sweep = async () => {
    let removed = 0;
    for (let slice = 0; slice < slicesPerRunMax; slice++) {
      const { rowCount } = await db.query(
        `DELETE FROM ledger.idempotency WHERE (caller, key) IN (
           SELECT caller, key FROM ledger.idempotency WHERE created_at < now() - make_interval(hours => $1) LIMIT $2)`,
        [retentionHours, sliceSize],
      );
      removed += rowCount;
      if (rowCount < sliceSize) break;
    }
    return removed;
  };
  const timer = setInterval(() => {
    sweep().catch((error) => log.warn({ err: error }, 'idempotency sweep failed; will retry'));
  }, intervalMs);
  timer.unref();
  return { sweep, stop: () => clearInterval(timer) };
}
