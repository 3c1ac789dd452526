// Is a projected balance what the ledger says at the same sequence? Pure: the drift check and the
// rebuild read the projection (the cache first, then the row with its last history entry) and the
// ledger's balance at the row's (and the cached copy's) sequence; this decides.
import type { BalanceView } from '../domain/balance.ts';
import type { LedgerBalanceAt } from '../events/ledger-client.ts';
import type { CacheInspection } from '../store/balance-cache.ts';
import type { ProjectedBalance } from './store.ts';

export type DriftKind =
  /** The row's posted or pending differs from the ledger's at the row's sequence. */
  | 'balance'
  /** The row's sequence is past the ledger's current one. */
  | 'ahead'
  /** The row names another currency than the ledger. */
  | 'currency'
  /** The history's entry at the row's sequence is missing or says something else than the ledger. */
  | 'history'
  /** The row has entries the ledger does not know: the ledger has no such account. Not repairable from it. */
  | 'unknown_account'
  /** The cached copy contradicts the row (same revision, other content; a higher version; no row) or the ledger at its own sequence. */
  | 'cache';

export interface Drift {
  kind: DriftKind;
  accountId: string;
  /** The sequence compared (the row's, or the cached copy's for `cache`). */
  sequence: bigint;
  projected: { posted: bigint; pending: bigint } | null;
  ledger: { balance: bigint; pending: bigint } | null;
  ledgerSequence: bigint | null;
  detail: string;
}

export interface AccountCheck {
  accountId: string;
  row: ProjectedBalance | undefined;
  drifts: Drift[];
  /** The cached copy is missing or older than the row (nothing wrong, e.g. Redis came back empty): write the row to it. */
  refillCache: boolean;
  /** The ledger's current sequence; null when it does not know the account. */
  ledgerSequence: bigint | null;
  /** Entries the projection is behind the ledger (0 when not behind); null when the ledger does not know the account. */
  lag: bigint | null;
}

/** The drifts that a repair from the ledger rewrites the row and its history for. */
export const projectionDrifts: ReadonlySet<DriftKind> = new Set(['balance', 'ahead', 'currency', 'history']);

/** Times compared as instants, not as strings (one may say `Z`, the other `.000Z`). */
const sameTime = (a: string | null, b: string | null) => (a === null || b === null ? a === b : Date.parse(a) === Date.parse(b));

const sameCopy = (a: BalanceView, b: BalanceView) =>
  a.posted === b.posted &&
  a.pending === b.pending &&
  a.sequence === b.sequence &&
  a.currency === b.currency &&
  a.ownerId === b.ownerId &&
  a.overdraftLimit === b.overdraftLimit &&
  sameTime(a.limitsChangedAt, b.limitsChangedAt) &&
  sameTime(a.updatedAt, b.updatedAt);

const ledgerValues = (at: LedgerBalanceAt | undefined) => (at && at.balance !== null && at.pending !== null ? { balance: at.balance, pending: at.pending } : null);

/**
 * Compares one account. `atRow` is the ledger at the row's sequence (at 0 when there is no row);
 * `atCache` the ledger at the cached copy's sequence when that differs from the row's.
 */
export function checkAccount(input: {
  accountId: string;
  row: ProjectedBalance | undefined;
  cache: CacheInspection;
  atRow: LedgerBalanceAt;
  atCache?: LedgerBalanceAt;
}): AccountCheck {
  const { accountId, row, cache, atRow } = input;
  const drifts: Drift[] = [];
  const drift = (kind: DriftKind, sequence: bigint, projected: Drift['projected'], at: LedgerBalanceAt | undefined, detail: string) =>
    drifts.push({ kind, accountId, sequence, projected, ledger: ledgerValues(at), ledgerSequence: at?.ledgerSequence ?? null, detail });
  const known = atRow.known && atRow.ledgerSequence !== null;
  const projectedSequence = row?.sequence ?? 0n;
  const lag = known ? (atRow.ledgerSequence! > projectedSequence ? atRow.ledgerSequence! - projectedSequence : 0n) : null;

  if (row) {
    const projected = { posted: row.posted, pending: row.pending };
    if (!known) {
      if (row.sequence > 0n) drift('unknown_account', row.sequence, projected, atRow, 'the ledger has no such account');
    } else if (atRow.balance === null || atRow.pending === null) {
      drift('ahead', row.sequence, projected, atRow, `the row is at sequence ${row.sequence}, the ledger at ${atRow.ledgerSequence}`);
    } else {
      if (row.posted !== atRow.balance || row.pending !== atRow.pending) {
        drift('balance', row.sequence, projected, atRow, `posted ${row.posted} pending ${row.pending}, the ledger ${atRow.balance} and ${atRow.pending}`);
      }
      if (row.currency !== null && atRow.currency !== null && row.currency !== atRow.currency) {
        drift('currency', row.sequence, projected, atRow, `the row counts in ${row.currency}, the ledger in ${atRow.currency}`);
      }
      if (row.sequence > 0n) {
        const entry = row.lastEntry;
        if (!entry) drift('history', row.sequence, projected, atRow, `the history has no entry ${row.sequence}`);
        else if (entry.balanceAfter !== atRow.balance || (entry.pendingAfter !== null && entry.pendingAfter !== atRow.pending)) {
          drift('history', row.sequence, projected, atRow, `the history's entry ${row.sequence} says ${entry.balanceAfter} and ${entry.pendingAfter ?? '?'}`);
        }
      }
    }
  }

  let refillCache = false;
  if (cache.state === 'present') {
    const copy = cache.view;
    const copied = copy ? { posted: copy.posted, pending: copy.pending } : null;
    const sequence = copy?.sequence ?? projectedSequence;
    if (!row) {
      drift('cache', sequence, copied, undefined, 'a cached balance without a row');
    } else if (cache.version === null) {
      drift('cache', sequence, copied, undefined, 'the cached version is not a number');
    } else if (cache.version > row.revision) {
      drift('cache', sequence, copied, undefined, `the cached version ${cache.version} is above the row's revision ${row.revision}`);
    } else if (cache.version === row.revision && (!copy || !sameCopy(copy, row))) {
      drift('cache', sequence, copied, atRow, `the cached copy at revision ${row.revision} differs from the row`);
    } else if (copy && known) {
      // Also an older copy (on its way to being replaced) must be the ledger's balance at its own sequence.
      const at = copy.sequence === row.sequence ? atRow : input.atCache;
      if (at && (at.balance === null || at.balance !== copy.posted || at.pending !== copy.pending)) {
        drift('cache', copy.sequence, copied, at, `the cached copy at sequence ${copy.sequence} is not the ledger's balance there`);
      } else if (cache.version < row.revision) refillCache = true;
    } else if (cache.version < row.revision) refillCache = true;
  } else if (cache.state === 'absent' && row) {
    refillCache = true;
  }

  return { accountId, row, drifts, refillCache, ledgerSequence: known ? atRow.ledgerSequence : null, lag };
}
