// Balance alerts: an owner's threshold on the account's AVAILABLE balance (posted − pending +
// overdraft limit: what the person can spend). Pure: the crossing logic, no I/O.
//
// An alert is `armed` while available is at or above `below`, and `triggered` once it went under.
// A crossing is the step from armed to triggered: it fires once, however many entries follow below
// the threshold; available coming back to `below` or more re-arms it (silently). The state and the
// last sequence checked live on the alert's row, so evaluating the same entries again (another
// replica, a redelivered event, the sweep) finds nothing new to fire.
import { availableOf } from './balance.ts';
import { INT8_MAX } from './entry.ts';

export type AlertState = 'armed' | 'triggered';

/** What the evaluation keeps per alert. */
export interface AlertProgress {
  state: AlertState;
  /** The last sequence evaluated (the account's sequence when the alert was made, at first). */
  checkedSequence: bigint;
  /** Available as of that evaluation: the `balanceBefore` of the next crossing. */
  checkedAvailable: bigint;
}

export interface AlertThreshold extends AlertProgress {
  below: bigint;
}

/** One moment of the account: after an entry, or as the balance row now stands. */
export interface BalancePoint {
  sequence: bigint;
  available: bigint;
  /** ISO 8601: when the ledger wrote the entry (or the row last changed). */
  at: string;
}

export interface Crossing {
  sequence: bigint;
  balanceBefore: bigint;
  balanceAfter: bigint;
  at: string;
}

export interface Evaluation extends AlertProgress {
  crossings: Crossing[];
}

/** A new alert starts triggered when the account is already under its threshold: no crossing was seen, so nothing fires until one is. */
export function initialState(available: bigint, below: bigint): AlertState {
  return available < below ? 'triggered' : 'armed';
}

/** The state after seeing `available`, and whether that step is a crossing. */
export function step(state: AlertState, available: bigint, below: bigint): { state: AlertState; crossed: boolean } {
  if (state === 'armed' && available < below) return { state: 'triggered', crossed: true };
  if (state === 'triggered' && available >= below) return { state: 'armed', crossed: false };
  return { state, crossed: false };
}

/**
 * Walks the entries after the alert's checked sequence, in sequence order, then (when given) the
 * balance as it now stands — which catches a crossing caused by a limits change alone, without an
 * entry. Entries at or before the checked sequence were evaluated already and are skipped; the
 * current point may repeat the last entry, which changes nothing (same available, same state).
 */
export function evaluateAlert(alert: AlertThreshold, entries: readonly BalancePoint[], current?: BalancePoint): Evaluation {
  let { state, checkedSequence, checkedAvailable } = alert;
  const crossings: Crossing[] = [];
  const see = (point: BalancePoint) => {
    const next = step(state, point.available, alert.below);
    if (next.crossed) crossings.push({ sequence: point.sequence, balanceBefore: checkedAvailable, balanceAfter: point.available, at: point.at });
    state = next.state;
    checkedSequence = point.sequence;
    checkedAvailable = point.available;
  };
  for (const entry of entries) if (entry.sequence > checkedSequence) see(entry);
  if (current && current.sequence >= checkedSequence) see(current);
  return { state, checkedSequence, checkedAvailable, crossings };
}

/** Available after a persisted entry, with the overdraft limit known now (entries do not record the limit of their time). */
export function availableAfter(entry: { balanceAfter: bigint; pendingAfter: bigint | null }, overdraftLimit: bigint): bigint {
  // Entries applied before holds existed have no reservation recorded: there was none.
  return availableOf({ posted: entry.balanceAfter, pending: entry.pendingAfter ?? 0n, overdraftLimit });
}

const thresholdPattern = /^(0|[1-9][0-9]{0,18})$/;

/** A threshold: minor units as a digit string, 0 to 2^63 − 1. */
export function parseThreshold(value: string): bigint | undefined {
  if (!thresholdPattern.test(value)) return undefined;
  const below = BigInt(value);
  return below <= INT8_MAX ? below : undefined;
}
