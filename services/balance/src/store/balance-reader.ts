// Reads a balance from the cache, falling back to PostgreSQL (and refilling the cache) on a miss.
import { ProblemError, type Db } from '@wallet/kit';
import type { BalanceView } from '../domain/balance.ts';
import type { BalanceCache } from './balance-cache.ts';
import { findBalance } from './balances.ts';

export interface BalanceReader {
  read(accountId: string): Promise<BalanceView | undefined>;
}

export function createBalanceReader(db: Db, cache: BalanceCache, log: { error(obj: object, msg: string): void }): BalanceReader {
  return {
    async read(accountId) {
      const cached = await cache.read(accountId);
      // A cached balance without an owner may be older than the owner in PostgreSQL.
      if (cached && cached.ownerId !== null) return cached;
      let stored: BalanceView | undefined;
      try {
        stored = await findBalance(db, accountId);
      } catch (error) {
        log.error({ err: error, accountId }, 'balance store unavailable');
        throw new ProblemError('dependency_unavailable', 'The balance store is unavailable');
      }
      if (stored) await cache.write(stored);
      return stored;
    },
  };
}
