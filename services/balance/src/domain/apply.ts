// The projection's one decision: what to do with a ledger entry given the stored balance.
// Pure — the store locks and persists, this only decides.
import type { Entry } from './entry.ts';

export interface BalanceState {
  accountId: string;
  currency: string;
  available: bigint;
  /** Sequence of the last entry applied; 0 before the first. */
  sequence: bigint;
}

export type InvalidReason = 'account_mismatch' | 'currency_mismatch' | 'balance_mismatch' | 'duplicate_mismatch';

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
  if (entry.currency !== state.currency) {
    return { kind: 'invalid', reason: 'currency_mismatch', detail: `entry in ${entry.currency}, account in ${state.currency}` };
  }
  const expected = state.available + entry.amount;
  if (expected !== entry.balanceAfter) {
    return {
      kind: 'invalid',
      reason: 'balance_mismatch',
      detail: `${state.available} + ${entry.amount} is ${expected}, entry says ${entry.balanceAfter}`,
    };
  }
  return { kind: 'apply', next: { ...state, available: expected, sequence: entry.sequence } };
}

export type PlanResult =
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
        apply.push(entry);
        current = decision.next;
        break;
      case 'gap':
        return { kind: 'gap', beforeSequence: entry.sequence, missingFrom: decision.missingFrom, missingTo: decision.missingTo };
      case 'invalid':
        return { kind: 'invalid', entry, reason: decision.reason, detail: decision.detail };
    }
  }
  // Pair assertion: the state we hand back is the last applied entry's own balance.
  const last = apply.at(-1);
  if (last && (last.balanceAfter !== current.available || last.sequence !== current.sequence)) {
    throw new Error('planEntries: the planned state disagrees with the last entry');
  }
  return { kind: 'ok', apply, duplicates, next: current };
}

/** What the history holds of an entry already applied. */
export interface RecordedEntry {
  amount: bigint;
  balanceAfter: bigint;
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
  if (recorded.transferId !== null && entry.transferId !== null && recorded.transferId !== entry.transferId) {
    return `entry ${entry.sequence} was applied for transfer ${recorded.transferId}, repeated for ${entry.transferId}`;
  }
  return undefined;
}
