// Reads a balance from the cache, falling back to PostgreSQL (and refilling the cache) on a miss; and,
// for streams and reads that wait for a sequence, straight from PostgreSQL: the row and its history.
import { ProblemError, type Db } from '@wallet/kit';
import type { BalanceView } from '../domain/balance.ts';
import type { BalanceCache } from './balance-cache.ts';
import { findBalance, SCHEMA } from './balances.ts';

/** The balance right after one entry, as the history holds it, with the account's limit now. */
export interface BalanceChange {
  accountId: string;
  currency: string;
  sequence: bigint;
  posted: bigint;
  pending: bigint;
  /** The limit held now (the history does not keep past limits). */
  overdraftLimit: bigint;
  /** ISO 8601: when the entry was made in the ledger. */
  updatedAt: string;
}

export interface BalanceReader {
  read(accountId: string): Promise<BalanceView | undefined>;
  /** From PostgreSQL, never the cache (which is written after followers are told of a change). */
  readStored(accountId: string): Promise<BalanceView | undefined>;
  /** The history's entries after `afterSequence`, in sequence order, at most `limit`. */
  changesAfter(accountId: string, afterSequence: bigint, limit: number): Promise<BalanceChange[]>;
}

interface ChangeRow {
  account_id: string;
  currency: string;
  sequence: bigint;
  balance_after: bigint;
  pending_after: bigint | null;
  overdraft_limit: bigint;
  created_at: Date;
}

export function createBalanceReader(db: Db, cache: BalanceCache, log: { error(obj: object, msg: string): void }): BalanceReader {
  const unavailable = (error: unknown, accountId: string) => {
    log.error({ err: error, accountId }, 'balance store unavailable');
    return new ProblemError('dependency_unavailable', 'The balance store is unavailable');
  };

  const readStored = async (accountId: string) => {
    try {
      return await findBalance(db, accountId);
    } catch (error) {
      throw unavailable(error, accountId);
    }
  };

  return {
    async read(accountId) {
      const cached = await cache.read(accountId);
      // A cached balance without an owner may be older than the owner in PostgreSQL.
      if (cached && cached.ownerId !== null) return cached;
      const stored = await readStored(accountId);
      if (stored) await cache.write(stored);
      return stored;
    },

    readStored,

    async changesAfter(accountId, afterSequence, limit) {
      let rows: ChangeRow[];
      try {
        // The primary key (account_id, sequence) serves the range; the row gives currency and limit.
        ({ rows } = await db.query<ChangeRow>(
          `SELECT e.account_id, b.currency, e.sequence, e.balance_after, e.pending_after, b.overdraft_limit, e.created_at
           FROM ${SCHEMA}.entries e JOIN ${SCHEMA}.balances b USING (account_id)
           WHERE e.account_id = $1 AND e.sequence > $2
           ORDER BY e.sequence
           LIMIT $3`,
          [accountId, afterSequence.toString(), limit],
        ));
      } catch (error) {
        throw unavailable(error, accountId);
      }
      return rows.flatMap((row) =>
        row.currency === null
          ? []
          : [
              {
                accountId: row.account_id,
                currency: row.currency,
                sequence: row.sequence,
                posted: row.balance_after,
                // Null only on entries applied before holds existed: nothing was reserved then.
                pending: row.pending_after ?? 0n,
                overdraftLimit: row.overdraft_limit,
                updatedAt: row.created_at.toISOString(),
              },
            ],
      );
    },
  };
}
