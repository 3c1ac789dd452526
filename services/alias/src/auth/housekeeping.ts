// Periodic chores of the auth tables, run by every replica (each is safe to run concurrently):
// scheduled signing-key rotation, deleting keys whose tokens have all expired, and forgetting quiet
// login counters, expired revocations and sessions that ended long ago.
import type { Db } from '@wallet/kit';
import { sweepFailures } from '../store/login-throttle.ts';
import { sweepEndedFamilies } from '../store/refresh-tokens.ts';
import { sweepRevokedAccessTokens } from '../store/sessions.ts';
import type { KeyRing } from './keys.ts';

export interface HousekeepingOptions {
  intervalMs: number;
  /** 0: no scheduled rotation. */
  rotationDays: number;
  publishDelaySeconds: number;
  failureWindowSeconds: number;
  /** How long ended sessions are kept (reuse of their tokens is then just an unknown token). */
  endedSessionsKeepSeconds: number;
}

export interface Housekeeping {
  runOnce(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export function createHousekeeping(deps: { db: Db; keys: KeyRing; log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void } }, options: HousekeepingOptions): Housekeeping {
  const { db, keys, log } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const runOnce = async () => {
    if (options.rotationDays > 0) {
      const rotation = await keys.rotateIfDue(options.rotationDays * 24 * 3600, options.publishDelaySeconds);
      if (rotation?.created) log.info({ kid: rotation.next.kid, signsFrom: rotation.next.signsFrom }, 'signing key rotated on schedule');
    }
    const deletedKeys = await keys.deleteExpired();
    if (deletedKeys > 0) log.info({ deleted: deletedKeys }, 'retired signing keys deleted');
    await sweepFailures(db, options.failureWindowSeconds);
    await sweepRevokedAccessTokens(db);
    await sweepEndedFamilies(db, options.endedSessionsKeepSeconds);
  };

  const tick = () => {
    running = runOnce()
      .catch((error: unknown) => log.warn({ err: error }, 'auth housekeeping failed; trying again later'))
      .finally(() => {
        running = undefined;
        if (timer) timer = setTimeout(tick, options.intervalMs).unref();
      });
  };

  return {
    runOnce,
    start() {
      timer = setTimeout(tick, 0).unref();
    },
    async stop() {
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
