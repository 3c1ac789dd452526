// Balances in the shared cache (Redis in real mode), keyed by account and versioned by sequence so a
// late or repeated write never replaces a newer balance. The cache only ever speeds reads up: every
// failure here is logged and absorbed, and PostgreSQL answers instead.
import type { Cache } from '@wallet/kit';
import type { BalanceView } from '../domain/balance.ts';

interface Log {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BalanceCacheOptions {
  cache: Cache;
  log: Log;
  /** Upper bound on one cache call; past it the call counts as failed. */
  timeoutMs: number;
  /** Accounts whose cached balance is known to be stale and is waiting to be rewritten. */
  staleAccountsMax: number;
}

export interface BalanceCache {
  /** Undefined on a miss, on an entry this process knows is stale, and on any cache error. */
  read(accountId: string): Promise<BalanceView | undefined>;
  /** Writes if newer; on failure remembers the account so reads skip the stale entry until a rewrite succeeds. */
  write(view: BalanceView): Promise<void>;
  /** `write` for many balances in one round trip (a Redis pipeline). */
  writeMany(views: readonly BalanceView[]): Promise<void>;
  /** Drops the cached balance (its owner changed). */
  forget(accountId: string): Promise<void>;
  /** Retries the writes that failed; returns how many are still waiting. */
  retryStale(): Promise<number>;
}

const digits = /^-?[0-9]{1,19}$/;

export const cacheKey = (accountId: string) => `balance:${accountId}`;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`cache call took more than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function decode(accountId: string, fields: Record<string, string>): BalanceView | undefined {
  const { version, available, pending, currency, ownerId, updatedAt } = fields;
  if (!version || !available || !pending || !currency || ownerId === undefined || !updatedAt) return undefined;
  if (!digits.test(version) || !digits.test(available) || !digits.test(pending)) return undefined;
  return {
    accountId,
    ownerId: ownerId === '' ? null : ownerId,
    currency,
    available: BigInt(available),
    pending: BigInt(pending),
    sequence: BigInt(version),
    updatedAt,
  };
}

export function createBalanceCache({ cache, log, timeoutMs, staleAccountsMax }: BalanceCacheOptions): BalanceCache {
  const stale = new Map<string, BalanceView>();

  const markStale = (view: BalanceView) => {
    const known = stale.get(view.accountId);
    if (known && known.sequence > view.sequence) return;
    if (!known && stale.size >= staleAccountsMax) {
      log.error({ accountId: view.accountId, staleAccountsMax }, 'too many stale cached balances to track; this one may be served stale until its next change');
      return;
    }
    stale.set(view.accountId, view);
  };

  const fieldsOf = (view: BalanceView) => ({
    available: view.available.toString(),
    pending: view.pending.toString(),
    currency: view.currency,
    ownerId: view.ownerId ?? '',
    updatedAt: view.updatedAt,
  });

  const put = (view: BalanceView) => withTimeout(cache.setVersioned(cacheKey(view.accountId), view.sequence, fieldsOf(view)), timeoutMs);

  const written = (view: BalanceView) => {
    const known = stale.get(view.accountId);
    if (known && known.sequence <= view.sequence) stale.delete(view.accountId);
  };

  return {
    async read(accountId) {
      if (stale.has(accountId)) return undefined;
      try {
        const fields = await withTimeout(cache.getVersioned(cacheKey(accountId)), timeoutMs);
        return fields ? decode(accountId, fields) : undefined;
      } catch (error) {
        log.warn({ err: error, accountId }, 'cache read failed; reading PostgreSQL');
        return undefined;
      }
    },
    async write(view) {
      try {
        await put(view);
        written(view);
      } catch (error) {
        log.warn({ err: error, accountId: view.accountId }, 'cache write failed; will retry');
        markStale(view);
      }
    },
    async writeMany(views) {
      if (views.length === 0) return;
      try {
        const writes = views.map((view) => ({ key: cacheKey(view.accountId), version: view.sequence, fields: fieldsOf(view) }));
        await withTimeout(cache.setVersionedMany(writes), timeoutMs);
        views.forEach(written);
      } catch (error) {
        // Some writes may have landed; rewriting those is harmless (versioned), so all are retried.
        log.warn({ err: error, accounts: views.length }, 'cache write failed; will retry');
        views.forEach(markStale);
      }
    },
    async forget(accountId) {
      try {
        await withTimeout(cache.del(cacheKey(accountId)), timeoutMs);
      } catch (error) {
        log.warn({ err: error, accountId }, 'cache delete failed');
      }
    },
    async retryStale() {
      for (const view of [...stale.values()]) {
        try {
          await put(view);
          if (stale.get(view.accountId) === view) stale.delete(view.accountId);
        } catch {
          break; // still down; try again on the next round
        }
      }
      return stale.size;
    },
  };
}
