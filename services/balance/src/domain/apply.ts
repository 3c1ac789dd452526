// The projection's one decision: what to do with a ledger entry given the stored balance.
// Pure — the store locks and persists, this only decides.
import { INT8_MAX, INT8_MIN, type Entry } from './entry.ts';

export interface BalanceState {
  accountId: string;
  /** Null until an entry or the account.opened names it (a limits change can come first). */
  currency: string | null;
  /** Settled money: the sum of the entries applied. */
  posted: bigint;
  /** Reserved by pending holds: the sum of the entries' pending amounts. */
  pending: bigint;
  /** Sequence of the last entry applied; 0 before the first. */
  sequence: bigint;
}

export type InvalidReason = 'account_mismatch' | 'currency_mismatch' | 'balance_mismatch' | 'pending_mismatch' | 'duplicate_mismatch';

export type EntryDecision =
  /** Already applied (sequence at or below the stored one): skip. */
  | { kind: 'duplicate' }
  /** The next entry and it adds up: this is the new state. */
  | { kind: 'apply'; next: BalanceState }
  /** Entries between the stored sequence and this one are missing: fetch them from the ledger first. */
  | { kind: 'gap'; missingFrom: bigint; missingTo: bigint }
  /** The entry contradicts the stored balance: never apply it. */
  | { kind: 'invalid'; reason: InvalidReason; detail: string };

export function applyEntry(state: BalanceState, entry: Entry): EntryDecision {
  if (entry.accountId !== state.accountId) {
    return { kind: 'invalid', reason: 'account_mismatch', detail: `entry of ${entry.accountId} offered to ${state.accountId}` };
  }
  if (entry.sequence <= state.sequence) return { kind: 'duplicate' };
  if (entry.sequence > state.sequence + 1n) return { kind: 'gap', missingFrom: state.sequence + 1n, missingTo: entry.sequence - 1n };
  if (state.currency !== null && entry.currency !== state.currency) {
    return { kind: 'invalid', reason: 'currency_mismatch', detail: `entry in ${entry.currency}, account in ${state.currency}` };
  }
  const posted = state.posted + entry.amount;
  if (posted !== entry.balanceAfter) {
    return {
      kind: 'invalid',
      reason: 'balance_mismatch',
      detail: `${state.posted} + ${entry.amount} is ${posted}, entry says ${entry.balanceAfter}`,
    };
  }
  // Entries written before holds say nothing of the reservation: it stays as it is.
  const pending = state.pending + entry.pendingAmount;
  if (entry.pendingAfter !== null && pending !== entry.pendingAfter) {
    return {
      kind: 'invalid',
      reason: 'pending_mismatch',
      detail: `pending ${state.pending} + ${entry.pendingAmount} is ${pending}, entry says ${entry.pendingAfter}`,
    };
  }
  if (pending < INT8_MIN || pending > INT8_MAX) {
    return { kind: 'invalid', reason: 'pending_mismatch', detail: `pending ${state.pending} + ${entry.pendingAmount} is out of range` };
  }
  return { kind: 'apply', next: { ...state, currency: entry.currency, posted, pending, sequence: entry.sequence } };
}

export type PlanResult =
  /** `apply` holds the entries to record, each with its `pendingAfter` filled in. */
  | { kind: 'ok'; apply: Entry[]; duplicates: Entry[]; next: BalanceState }
  | { kind: 'gap'; beforeSequence: bigint; missingFrom: bigint; missingTo: bigint }
  | { kind: 'invalid'; entry: Entry; reason: InvalidReason; detail: string };

/** Decides a batch of one account's entries in sequence order; stops at the first gap or invalid entry. */
export function planEntries(state: BalanceState, entries: readonly Entry[]): PlanResult {
  const ordered = [...entries].sort((a, b) => (a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0));
  const apply: Entry[] = [];
  const duplicates: Entry[] = [];
  let current = state;
  for (const entry of ordered) {
    const decision = applyEntry(current, entry);
    switch (decision.kind) {
      case 'duplicate':
        duplicates.push(entry);
        break;
      case 'apply':
        // The history keeps the reservation after every entry, also when the event left it unsaid.
        apply.push(entry.pendingAfter === decision.next.pending ? entry : { ...entry, pendingAfter: decision.next.pending });
        current = decision.next;
        break;
      case 'gap':
        return { kind: 'gap', beforeSequence: entry.sequence, missingFrom: decision.missingFrom, missingTo: decision.missingTo };
      case 'invalid':
        return { kind: 'invalid', entry, reason: decision.reason, detail: decision.detail };
    }
  }
  // Pair assertion: the state we hand back is the last applied entry's own balance and reservation.
  const last = apply.at(-1);
  if (last && (last.balanceAfter !== current.posted || last.pendingAfter !== current.pending || last.sequence !== current.sequence)) {
    throw new Error('planEntries: the planned state disagrees with the last entry');
  }
  return { kind: 'ok', apply, duplicates, next: current };
}

/** What the history holds of an entry already applied. */
export interface RecordedEntry {
  amount: bigint;
  balanceAfter: bigint;
  /** Null for entries recorded before this service kept the reservation. */
  pendingAmount: bigint | null;
  pendingAfter: bigint | null;
  transferId: string | null;
}

/**
 * A duplicate must repeat what was applied at its sequence. One that says something else is not the
 * ledger's entry: its event is refused, so no other leg of it can apply. Returns why, or undefined.
 */
export function contradictsRecord(recorded: RecordedEntry, entry: Entry): string | undefined {
  if (recorded.amount !== entry.amount || recorded.balanceAfter !== entry.balanceAfter) {
    return `entry ${entry.sequence} was applied as ${recorded.amount} → ${recorded.balanceAfter}, repeated as ${entry.amount} → ${entry.balanceAfter}`;
  }
  const pendingDiffers =
    (recorded.pendingAmount !== null && recorded.pendingAmount !== entry.pendingAmount) ||
    (recorded.pendingAfter !== null && entry.pendingAfter !== null && recorded.pendingAfter !== entry.pendingAfter);
  if (pendingDiffers) {
    return `entry ${entry.sequence} was applied as pending ${recorded.pendingAmount ?? '?'} → ${recorded.pendingAfter ?? '?'}, repeated as ${entry.pendingAmount} → ${entry.pendingAfter ?? '?'}`;
  }
  if (recorded.transferId !== null && entry.transferId !== null && recorded.transferId !== entry.transferId) {
    return `entry ${entry.sequence} was applied for transfer ${recorded.transferId}, repeated for ${entry.transferId}`;
  }
  return undefined;
}
