// Balances in the shared cache (Redis in real mode), keyed by account and versioned by the row's
// revision (bumped by every change: entries, owner, limit) so a late or repeated write never replaces
// a newer balance. The cache only ever speeds reads up: every failure here is logged and absorbed,
// and PostgreSQL answers instead.
import type { Cache } from '@wallet/kit';
import { availableOf, type BalanceView } from '../domain/balance.ts';

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
  /** Retries the writes that failed; returns how many are still waiting. */
  retryStale(): Promise<number>;
  /** What the cache holds for the account, as stored (drift checks compare it with PostgreSQL and the ledger). */
  inspect(accountId: string): Promise<CacheInspection>;
  /** Deletes the cached copy; false when the cache failed. Only for a copy whose version no revision can pass. */
  remove(accountId: string): Promise<boolean>;
}

export type CacheInspection =
  | { state: 'absent' }
  /** `version` null when it is not a number; `view` undefined when the hash is not in the current format. */
  | { state: 'present'; version: bigint | null; view: BalanceView | undefined }
  | { state: 'unavailable' };

const signedDigits = /^-?[0-9]{1,19}$/;
const digits = /^[0-9]{1,19}$/;

export const cacheKey = (accountId: string) => `balance:${accountId}`;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`cache call took more than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The cached hash: `version` (the revision), `sequence`, `posted`, `pending`, `overdraftLimit`,
 * `limitsChangedAt` and `currency` ('' for none), `ownerId` ('' for none), `updatedAt`, and
 * `available` as served (derived again on read; written so the hash never shows a stale one).
 */
function fieldsOf(view: BalanceView): Record<string, string> {
  return {
    sequence: view.sequence.toString(),
    posted: view.posted.toString(),
    pending: view.pending.toString(),
    overdraftLimit: view.overdraftLimit.toString(),
    available: availableOf(view).toString(),
    limitsChangedAt: view.limitsChangedAt ?? '',
    currency: view.currency ?? '',
    ownerId: view.ownerId ?? '',
    updatedAt: view.updatedAt,
  };
}

/** Undefined for anything but the current format, e.g. a hash written before holds (no posted, no overdraftLimit): a miss. */
function decode(accountId: string, fields: Record<string, string>): BalanceView | undefined {
  const { version, sequence, posted, pending, overdraftLimit, limitsChangedAt, currency, ownerId, updatedAt } = fields;
  if (!version || !sequence || !posted || !pending || !overdraftLimit || !updatedAt) return undefined;
  if (limitsChangedAt === undefined || currency === undefined || ownerId === undefined) return undefined;
  if (!digits.test(version) || !digits.test(sequence) || !signedDigits.test(posted) || !signedDigits.test(pending) || !digits.test(overdraftLimit)) return undefined;
  return {
    accountId,
    ownerId: ownerId === '' ? null : ownerId,
    currency: currency === '' ? null : currency,
    posted: BigInt(posted),
    pending: BigInt(pending),
    overdraftLimit: BigInt(overdraftLimit),
    limitsChangedAt: limitsChangedAt === '' ? null : limitsChangedAt,
    sequence: BigInt(sequence),
    revision: BigInt(version),
    updatedAt,
  };
}

export function createBalanceCache({ cache, log, timeoutMs, staleAccountsMax }: BalanceCacheOptions): BalanceCache {
  const stale = new Map<string, BalanceView>();

  const markStale = (view: BalanceView) => {
    const known = stale.get(view.accountId);
    if (known && known.revision > view.revision) return;
    if (!known && stale.size >= staleAccountsMax) {
      log.error({ accountId: view.accountId, staleAccountsMax }, 'too many stale cached balances to track; this one may be served stale until its next change');
      return;
    }
    stale.set(view.accountId, view);
  };

  const put = (view: BalanceView) => withTimeout(cache.setVersioned(cacheKey(view.accountId), view.revision, fieldsOf(view)), timeoutMs);

  const written = (view: BalanceView) => {
    const known = stale.get(view.accountId);
    if (known && known.revision <= view.revision) stale.delete(view.accountId);
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
        const writes = views.map((view) => ({ key: cacheKey(view.accountId), version: view.revision, fields: fieldsOf(view) }));
        await withTimeout(cache.setVersionedMany(writes), timeoutMs);
        views.forEach(written);
      } catch (error) {
        // Some writes may have landed; rewriting those is harmless (versioned), so all are retried.
        log.warn({ err: error, accounts: views.length }, 'cache write failed; will retry');
        views.forEach(markStale);
      }
    },
    async inspect(accountId) {
      try {
        const fields = await withTimeout(cache.getVersioned(cacheKey(accountId)), timeoutMs);
        if (!fields) return { state: 'absent' };
        const version = fields.version !== undefined && digits.test(fields.version) ? BigInt(fields.version) : null;
        return { state: 'present', version, view: decode(accountId, fields) };
      } catch (error) {
        log.warn({ err: error, accountId }, 'cache read failed');
        return { state: 'unavailable' };
      }
    },
    async remove(accountId) {
      try {
        await withTimeout(cache.del(cacheKey(accountId)), timeoutMs);
        return true;
      } catch (error) {
        log.warn({ err: error, accountId }, 'cache delete failed');
        return false;
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
