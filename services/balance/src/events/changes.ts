// The change hub: tells whoever follows an account (balance streams, reads waiting for a sequence)
// that its balance changed, in this process and on every other replica.
//
// The projector calls `committed` after each commit. Followers in this process are woken at once; the
// same news is published on ONE pub/sub channel (`balance:changes`, Redis in real mode) for the other
// replicas, which wake their own followers. A notification only says "account A is now at sequence S,
// revision R": followers read what changed from PostgreSQL, so order and completeness come from the
// database, and a lost or repeated notification costs at most a delay or a useless read. When the
// subscription was down and is back, every follower is woken without a change (`undefined`): look again.
//
// One channel for all accounts: one PUBLISH per committed batch whatever its size, no subscription per
// follower. A replica subscribes while it has followers, and drops the subscription when the last goes.
import { randomUUID } from 'node:crypto';
import type { Cache } from '@wallet/kit';
import type { BalanceView } from '../domain/balance.ts';

export interface Change {
  accountId: string;
  /** The account's sequence after the change (unchanged by a limits change). */
  sequence: bigint;
  /** The row's revision after the change (bumped by every change). */
  revision: bigint;
}

/** Called on a change of the followed account; `undefined`: changes may have been missed, look again. */
export type Wake = (change: Change | undefined) => void;

export interface Following {
  /** Settles once changes made on other replicas reach this follower too. */
  ready: Promise<void>;
  /** Stops following; idempotent. */
  stop(): void;
}

export interface ChangeHub {
  /** The projector's `onCommitted`: never throws. */
  committed(touched: readonly BalanceView[]): void;
  /** Follows one account until `stop`. Nothing is kept for an account nobody follows. */
  follow(accountId: string, wake: Wake): Following;
  /** Followers in this process now (streams and waiting reads). */
  followers(): number;
  /** Stops following everything (the service is stopping). */
  close(): void;
}

export interface ChangeHubOptions {
  cache: Pick<Cache, 'publish' | 'subscribe'>;
  log: { warn(obj: object, msg: string): void };
}

export const CHANGES_CHANNEL = 'balance:changes';
/** Lines per published message; a larger batch is published in several. */
const linesPerMessage = 1000;
const digits = /^[0-9]{1,19}$/;

/** `<origin>` then one `<accountId> <sequence> <revision>` line per account. */
export function encodeChanges(origin: string, changes: readonly Change[]): string[] {
  const messages: string[] = [];
  for (let i = 0; i < changes.length; i += linesPerMessage) {
    const lines = changes.slice(i, i + linesPerMessage).map((c) => `${c.accountId} ${c.sequence} ${c.revision}`);
    messages.push([origin, ...lines].join('\n'));
  }
  return messages;
}

export function decodeChanges(message: string): { origin: string; changes: Change[] } | undefined {
  const [origin, ...lines] = message.split('\n');
  if (!origin) return undefined;
  const changes: Change[] = [];
  for (const line of lines) {
    const [accountId, sequence, revision, extra] = line.split(' ');
    if (!accountId || !sequence || !revision || extra !== undefined || !digits.test(sequence) || !digits.test(revision)) return undefined;
    changes.push({ accountId, sequence: BigInt(sequence), revision: BigInt(revision) });
  }
  return { origin, changes };
}

export function createChangeHub({ cache, log }: ChangeHubOptions): ChangeHub {
  /** This hub's notes come back to it through the channel: it knows them by this. */
  const origin = randomUUID();
  const following = new Map<string, Set<Wake>>();
  let count = 0;
  let closed = false;
  /** Publishing fails for every batch while Redis is down: say so once in a while, not every time. */
  let publishWarnedAt = 0;
  /** The subscription while anyone follows: settles with its end function once active. */
  let subscription: Promise<(() => void) | undefined> | undefined;

  const wakeAll = (wakes: Iterable<Wake>, change: Change | undefined) => {
    for (const wake of [...wakes]) {
      try {
        wake(change);
      } catch (error) {
        log.warn({ err: error, accountId: change?.accountId }, 'a change follower failed');
      }
    }
  };

  const received = (message: string) => {
    const decoded = decodeChanges(message);
    if (!decoded) {
      log.warn({ length: message.length }, 'ignored a malformed balance change notification');
      return;
    }
    if (decoded.origin === origin) return; // woken already, when committed
    for (const change of decoded.changes) {
      const wakes = following.get(change.accountId);
      if (wakes) wakeAll(wakes, change);
    }
  };

  const resync = () => {
    for (const wakes of following.values()) wakeAll(wakes, undefined);
  };

  const subscribe = (): Promise<(() => void) | undefined> => {
    if (!cache.subscribe) return Promise.resolve(undefined);
    return cache.subscribe(CHANGES_CHANNEL, { message: received, resync }).catch((error: unknown) => {
      // Only this replica's changes reach its followers until a later subscription works.
      log.warn({ err: error }, 'could not subscribe to balance changes');
      return undefined;
    });
  };

  const unsubscribe = () => {
    const ending = subscription;
    subscription = undefined;
    void ending?.then((end) => end?.());
  };

  return {
    committed(touched) {
      try {
        if (touched.length === 0 || closed) return;
        const changes = touched.map((view): Change => ({ accountId: view.accountId, sequence: view.sequence, revision: view.revision }));
        for (const change of changes) {
          const wakes = following.get(change.accountId);
          if (wakes) wakeAll(wakes, change);
        }
        if (!cache.publish) return;
        for (const message of encodeChanges(origin, changes)) {
          cache.publish(CHANGES_CHANNEL, message).catch((error: unknown) => {
            // Followers elsewhere learn of it with the account's next change, or when their subscription
            // is back after the outage (resync).
            if (Date.now() - publishWarnedAt < 10_000) return;
            publishWarnedAt = Date.now();
            log.warn({ err: error, accounts: changes.length }, 'could not publish balance changes (repeats silenced for 10 s)');
          });
        }
      } catch (error) {
        log.warn({ err: error }, 'telling followers of committed changes failed');
      }
    },

    follow(accountId, wake) {
      if (closed) return { ready: Promise.resolve(), stop: () => undefined };
      let wakes = following.get(accountId);
      if (!wakes) {
        wakes = new Set();
        following.set(accountId, wakes);
      }
      // The same function may follow twice; each following is its own entry.
      const entry: Wake = (change) => wake(change);
      wakes.add(entry);
      count++;
      subscription ??= subscribe();
      const ready = subscription.then(() => undefined);
      let stopped = false;
      return {
        ready,
        stop() {
          if (stopped) return;
          stopped = true;
          const set = following.get(accountId);
          if (set?.delete(entry)) count--;
          if (set?.size === 0) following.delete(accountId);
          if (count === 0) unsubscribe();
        },
      };
    },

    followers: () => count,

    close() {
      closed = true;
      following.clear();
      count = 0;
      unsubscribe();
    },
  };
}
