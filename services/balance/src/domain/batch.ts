// Deciding many events at once: each in delivery order against the locked balances as the events
// before it left them. Pure — the projector locks, looks the history up and persists; this decides.
// An event is applied whole or not at all; one that cannot apply never holds the others back.
import { contradictsRecord, planEntries, type InvalidReason, type RecordedEntry } from './apply.ts';
import type { BalanceView } from './balance.ts';
import type { AccountOpening, Entry, LimitsChange } from './entry.ts';

export type BalanceEvent =
  | { kind: 'account_opened'; account: AccountOpening }
  | { kind: 'limits_changed'; limits: LimitsChange }
  /** The entries of a transfer or a hold step (with the ledger's time of it), or a page of the ledger's listing. */
  | { kind: 'entries'; entries: readonly Entry[]; createdAt?: string };

export interface Gap {
  accountId: string;
  /** The first sequence the event brings that cannot apply until the ones before it are known. */
  beforeSequence: bigint;
}

export type RefusalReason = InvalidReason | 'owner_mismatch';

export type EventOutcome =
  | { kind: 'applied'; entries: number; duplicates: number }
  /** Entries are missing before this event: it waits for a repair from the ledger. */
  | { kind: 'gap'; gaps: Gap[] }
  /** The event contradicts the balances: never applied. */
  | { kind: 'invalid'; accountId: string; reason: RefusalReason; detail: string; sequence?: bigint };

export interface BatchPlan {
  /** One per event, in the order given. */
  outcomes: EventOutcome[];
  /** The final state of each balance the applied events changed (a new row, entries, an owner, a limit), by account id. */
  changed: BalanceView[];
  /** Entries to append to the history. */
  entries: Entry[];
  /** The final state of each balance the applied events touched, changed or not (what the cache gets), by account id. */
  touched: BalanceView[];
}

export const entryKey = (accountId: string, sequence: bigint): string => `${accountId}/${sequence}`;

const zero = (accountId: string, ownerId: string | null, currency: string | null, updatedAt: string): BalanceView => ({
  accountId,
  ownerId,
  currency,
  posted: 0n,
  pending: 0n,
  overdraftLimit: 0n,
  limitsChangedAt: null,
  sequence: 0n,
  revision: 0n,
  updatedAt,
});

const later = (a: string, b: string) => (a < b ? b : a);

function byAccount(entries: readonly Entry[]): Map<string, Entry[]> {
  const groups = new Map<string, Entry[]>();
  for (const entry of entries) groups.set(entry.accountId, [...(groups.get(entry.accountId) ?? []), entry]);
  return groups;
}

/** The row an event would create for an account it finds absent (entries can overtake account.opened). */
function startingRow(event: BalanceEvent, accountId: string): BalanceView {
  if (event.kind === 'account_opened') return zero(accountId, event.account.ownerId, event.account.currency, event.account.createdAt);
  // A limits change names no currency: the row waits for an entry or the opening to name it.
  if (event.kind === 'limits_changed') return zero(accountId, null, null, event.limits.changedAt);
  const first = event.entries.find((e) => e.accountId === accountId);
  if (!first) throw new Error(`startingRow: the event has no entry of ${accountId}`);
  return zero(accountId, null, first.currency, first.createdAt);
}

function accountsOf(event: BalanceEvent): string[] {
  switch (event.kind) {
    case 'account_opened':
      return [event.account.accountId];
    case 'limits_changed':
      return [event.limits.accountId];
    case 'entries':
      return [...new Set(event.entries.map((e) => e.accountId))];
  }
}

/**
 * A zero row for every account the events touch, from the first event touching it, in account-id
 * order: the store inserts the missing ones so that every row can be locked in one statement.
 */
export function startingRows(events: readonly BalanceEvent[]): BalanceView[] {
  const rows = new Map<string, BalanceView>();
  for (const event of events) {
    for (const accountId of accountsOf(event)) if (!rows.has(accountId)) rows.set(accountId, startingRow(event, accountId));
  }
  return [...rows.values()].sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
}

/** Entries at or below their account's stored sequence: duplicates, whose history must be looked up. */
export function possibleDuplicates(stored: ReadonlyMap<string, BalanceView>, events: readonly BalanceEvent[]): Array<{ accountId: string; sequence: bigint }> {
  const keys = new Map<string, { accountId: string; sequence: bigint }>();
  for (const event of events) {
    if (event.kind !== 'entries') continue;
    for (const { accountId, sequence } of event.entries) {
      const row = stored.get(accountId);
      if (row && sequence <= row.sequence) keys.set(entryKey(accountId, sequence), { accountId, sequence });
    }
  }
  return [...keys.values()];
}

interface Decision {
  outcome: EventOutcome;
  /** New states of the accounts the event touches (only when applied); `planBatch` bumps the revision of the changed ones. */
  next: Map<string, BalanceView>;
  changed: string[];
  apply: Entry[];
}

const appliedNothing: EventOutcome = { kind: 'applied', entries: 0, duplicates: 0 };

/** The limit `limits` says, if it is newer than the one `view` holds (a limit held since an unknown time is older than any). */
function newerLimit(view: BalanceView, overdraftLimit: bigint, since: string): BalanceView | undefined {
  if (view.limitsChangedAt !== null && since <= view.limitsChangedAt) return undefined;
  return { ...view, overdraftLimit, limitsChangedAt: since };
}

const refused = (outcome: EventOutcome): Decision => ({ outcome, next: new Map(), changed: [], apply: [] });

/**
 * The opening fills in what entries or a limits change that overtook it could not know (owner,
 * currency), and its overdraft limit unless a newer limits change is already there.
 */
function decideOpening(account: AccountOpening, state: BalanceView | undefined): Decision {
  const { accountId, ownerId, currency } = account;
  if (!state) {
    const row = { ...zero(accountId, ownerId, currency, account.createdAt), overdraftLimit: account.overdraftLimit, limitsChangedAt: account.createdAt };
    return { outcome: appliedNothing, next: new Map([[accountId, row]]), changed: [accountId], apply: [] };
  }
  if (state.currency !== null && state.currency !== currency) {
    return refused({ kind: 'invalid', accountId, reason: 'currency_mismatch', detail: `opened in ${currency}, entries in ${state.currency}` });
  }
  if (state.ownerId !== null && state.ownerId !== ownerId) return refused({ kind: 'invalid', accountId, reason: 'owner_mismatch', detail: 'the account already has another owner' });
  const filled: BalanceView = { ...state, ownerId, currency };
  const next = newerLimit(filled, account.overdraftLimit, account.createdAt) ?? filled;
  const changed = state.ownerId === null || state.currency === null || next !== filled;
  return { outcome: appliedNothing, next: new Map([[accountId, changed ? next : state]]), changed: changed ? [accountId] : [], apply: [] };
}

/** A limits change applies if it is newer than the limit held (by `changedAt`); an older or repeated one changes nothing. */
function decideLimits(limits: LimitsChange, state: BalanceView | undefined): Decision {
  const { accountId, overdraftLimit, changedAt } = limits;
  const current = state ?? zero(accountId, null, null, changedAt);
  const next = newerLimit(current, overdraftLimit, changedAt);
  if (!next) return { outcome: appliedNothing, next: new Map([[accountId, current]]), changed: [], apply: [] };
  // The available amount changed now: so did the balance.
  return { outcome: appliedNothing, next: new Map([[accountId, { ...next, updatedAt: later(current.updatedAt, changedAt) }]]), changed: [accountId], apply: [] };
}

function decideEntries(
  entries: readonly Entry[],
  states: ReadonlyMap<string, BalanceView>,
  recordOf: (accountId: string, sequence: bigint) => RecordedEntry | undefined,
): Decision {
  const groups = byAccount(entries);
  const next = new Map<string, BalanceView>();
  const changed: string[] = [];
  const apply: Entry[] = [];
  const gaps: Gap[] = [];
  let duplicates = 0;
  for (const accountId of [...groups.keys()].sort()) {
    const own = groups.get(accountId)!;
    const known = states.get(accountId);
    const state = known ?? zero(accountId, null, own[0]!.currency, own[0]!.createdAt);
    const plan = planEntries(state, own);
    if (plan.kind === 'invalid') {
      return refused({ kind: 'invalid', accountId, reason: plan.reason, detail: plan.detail, sequence: plan.entry.sequence });
    }
    if (plan.kind === 'gap') {
      gaps.push({ accountId, beforeSequence: plan.beforeSequence });
      continue;
    }
    for (const duplicate of plan.duplicates) {
      if (duplicate.currency !== state.currency) {
        return refused({ kind: 'invalid', accountId, reason: 'currency_mismatch', detail: `entry in ${duplicate.currency}, account in ${state.currency}`, sequence: duplicate.sequence });
      }
      const recorded = plan.apply.find((e) => e.sequence === duplicate.sequence) ?? recordOf(accountId, duplicate.sequence);
      const contradiction = recorded && contradictsRecord(recorded, duplicate);
      if (contradiction) return refused({ kind: 'invalid', accountId, reason: 'duplicate_mismatch', detail: contradiction, sequence: duplicate.sequence });
    }
    const last = plan.apply.at(-1);
    const { currency, posted, pending, sequence } = plan.next;
    next.set(accountId, last ? { ...state, currency, posted, pending, sequence, updatedAt: later(state.updatedAt, last.createdAt) } : state);
    if (last || !known) changed.push(accountId);
    apply.push(...plan.apply);
    duplicates += plan.duplicates.length;
  }
  if (gaps.length > 0) return refused({ kind: 'gap', gaps });
  return { outcome: { kind: 'applied', entries: apply.length, duplicates }, next, changed, apply };
}

/**
 * Every change of a row gets a higher revision (the cache keeps the highest version, so it never goes
 * back), always above the sequence: copies cached before revisions existed carry the sequence as
 * their version, and any newer write must replace them.
 */
function nextRevision(before: BalanceView | undefined, after: BalanceView): bigint {
  const bumped = (before?.revision ?? 0n) + 1n;
  return bumped > after.sequence ? bumped : after.sequence + 1n;
}

/**
 * Decides events in delivery order. `stored` holds the balances as locked before the batch (an
 * absent account starts from the first event that applies to it); `recorded` the history of the
 * possible duplicates. An event waiting for entries that a later event of the batch brings is
 * decided again once that one applied; one still waiting after that needs the ledger.
 */
export function planBatch(
  stored: ReadonlyMap<string, BalanceView>,
  recorded: ReadonlyMap<string, RecordedEntry>,
  events: readonly BalanceEvent[],
): BatchPlan {
  const states = new Map(stored);
  const appliedHere = new Map<string, Entry>();
  const recordOf = (accountId: string, sequence: bigint) => appliedHere.get(entryKey(accountId, sequence)) ?? recorded.get(entryKey(accountId, sequence));
  const outcomes: EventOutcome[] = [];
  const changed = new Set<string>();
  const touched = new Set<string>();
  const entries: Entry[] = [];

  let waiting = events.map((_, i) => i);
  // Each round after the first decides only events that waited, and runs only if the round before
  // changed a balance: at most one round per event.
  while (waiting.length > 0) {
    const stillWaiting: number[] = [];
    let progressed = false;
    for (const i of waiting) {
      const event = events[i]!;
      const decision =
        event.kind === 'account_opened'
          ? decideOpening(event.account, states.get(event.account.accountId))
          : event.kind === 'limits_changed'
            ? decideLimits(event.limits, states.get(event.limits.accountId))
            : decideEntries(event.entries, states, recordOf);
      outcomes[i] = decision.outcome;
      if (decision.outcome.kind === 'gap') stillWaiting.push(i);
      if (decision.outcome.kind !== 'applied') continue;
      for (const [accountId, view] of decision.next) {
        states.set(accountId, decision.changed.includes(accountId) ? { ...view, revision: nextRevision(states.get(accountId), view) } : view);
        touched.add(accountId);
      }
      for (const accountId of decision.changed) changed.add(accountId);
      for (const entry of decision.apply) {
        appliedHere.set(entryKey(entry.accountId, entry.sequence), entry);
        entries.push(entry);
      }
      progressed ||= decision.changed.length > 0;
    }
    if (!progressed || stillWaiting.length === waiting.length) break;
    waiting = stillWaiting;
  }

  const viewsOf = (ids: Set<string>) => [...ids].sort().map((id) => states.get(id)!);
  return { outcomes, changed: viewsOf(changed), entries, touched: viewsOf(touched) };
}
