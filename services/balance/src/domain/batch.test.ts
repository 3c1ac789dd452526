import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { RecordedEntry } from './apply.ts';
import type { BalanceView } from './balance.ts';
import { entryKey, planBatch, possibleDuplicates, startingRows, type BalanceEvent, type EventOutcome } from './batch.ts';
import type { Entry } from './entry.ts';

const ids = ['10000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000002', '30000000-0000-4000-8000-000000000003', '40000000-0000-4000-8000-000000000004'] as const;
const [x, y, z] = ids;
const at = '2025-01-01T00:00:00.000Z';

/** A tiny ledger: books transfers and holds and hands out their events, like the transaction service. */
function ledger() {
  const balances = new Map<string, { posted: bigint; pending: bigint; sequence: bigint }>();
  let transfers = 0;
  const newId = () => `00000000-0000-4000-8000-${String(++transfers).padStart(12, '0')}`;
  const post = (accountId: string, amount: bigint, transferId: string, pendingAmount = 0n): Entry => {
    const now = balances.get(accountId) ?? { posted: 0n, pending: 0n, sequence: 0n };
    const next = { posted: now.posted + amount, pending: now.pending + pendingAmount, sequence: now.sequence + 1n };
    balances.set(accountId, next);
    return { accountId, currency: 'USD', amount, balanceAfter: next.posted, pendingAmount, pendingAfter: next.pending, sequence: next.sequence, createdAt: at, transferId };
  };
  return {
    balances,
    book(from: string, to: string, amount: bigint): BalanceEvent & { kind: 'entries' } {
      const transferId = newId();
      return { kind: 'entries', entries: [post(from, -amount, transferId), post(to, amount, transferId)], createdAt: at };
    },
    /** hold_created: the source reserves. */
    hold(from: string, amount: bigint): BalanceEvent & { kind: 'entries' } {
      return { kind: 'entries', entries: [post(from, 0n, newId(), amount)], createdAt: at };
    },
    /** hold_posted: the source releases `reserved` and is debited `amount`, the destination credited. */
    capture(from: string, to: string, reserved: bigint, amount: bigint): BalanceEvent & { kind: 'entries' } {
      const transferId = newId();
      return { kind: 'entries', entries: [post(from, -amount, transferId, -reserved), post(to, amount, transferId)], createdAt: at };
    },
  };
}

const row = (accountId: string, posted: bigint, sequence: bigint, ownerId: string | null = 'owner'): BalanceView => ({
  accountId,
  ownerId,
  currency: 'USD',
  posted,
  pending: 0n,
  overdraftLimit: 0n,
  limitsChangedAt: null,
  sequence,
  revision: sequence + 1n,
  updatedAt: at,
});

/** Why an event was refused; undefined when it was not. */
const reasonOf = (outcome: EventOutcome | undefined) => (outcome?.kind === 'invalid' ? outcome.reason : undefined);
const storedOf = (...rows: BalanceView[]) => new Map(rows.map((r) => [r.accountId, r]));
const opened = (accountId: string, ownerId: string, currency = 'USD', overdraftLimit = 0n, createdAt = at): BalanceEvent => ({
  kind: 'account_opened',
  account: { accountId, ownerId, currency, overdraftLimit, createdAt },
});
const limitsChanged = (accountId: string, overdraftLimit: bigint, changedAt: string): BalanceEvent => ({ kind: 'limits_changed', limits: { accountId, overdraftLimit, changedAt } });
const recordedOf = (events: ReadonlyArray<BalanceEvent & { kind: 'entries' }>) => {
  const map = new Map<string, RecordedEntry>();
  for (const e of events.flatMap((ev) => ev.entries)) map.set(entryKey(e.accountId, e.sequence), e);
  return map;
};

test('events apply in delivery order; each balance and the history move once', () => {
  const l = ledger();
  const events = [l.book(x, y, 100n), l.book(y, z, 30n), l.book(x, z, 5n)];
  const plan = planBatch(storedOf(row(x, 0n, 0n), row(y, 0n, 0n), row(z, 0n, 0n)), new Map(), events);
  assert.deepEqual(plan.outcomes, [
    { kind: 'applied', entries: 2, duplicates: 0 },
    { kind: 'applied', entries: 2, duplicates: 0 },
    { kind: 'applied', entries: 2, duplicates: 0 },
  ]);
  assert.deepEqual(
    plan.changed.map((v) => [v.accountId, v.posted, v.sequence]),
    [
      [x, -105n, 2n],
      [y, 70n, 2n],
      [z, 35n, 2n],
    ],
  );
  assert.equal(plan.entries.length, 6);
  assert.deepEqual(plan.touched, plan.changed);
});

test('an event that overtook an earlier one of the same batch waits for it: no gap, no ledger', () => {
  const l = ledger();
  const [first, second] = [l.book(x, y, 100n), l.book(x, y, 50n)];
  const plan = planBatch(storedOf(row(x, 0n, 0n), row(y, 0n, 0n)), new Map(), [second, first]);
  assert.deepEqual(plan.outcomes.map((o) => o.kind), ['applied', 'applied']);
  assert.equal(plan.changed.find((v) => v.accountId === y)?.posted, 150n);
});

test('an entry missing from the batch leaves its successors waiting, and nothing of them is applied', () => {
  const l = ledger();
  const first = l.book(x, y, 100n);
  l.book(x, z, 1n); // never delivered: x #2, z #1
  const third = l.book(x, y, 7n); // x #3, y #2
  const other = l.book(y, z, 1n); // y #3 waits for y #2, z #2 waits for z #1
  const plan = planBatch(storedOf(row(x, 0n, 0n), row(y, 0n, 0n), row(z, 0n, 0n)), new Map(), [first, third, other]);
  assert.deepEqual(plan.outcomes[0], { kind: 'applied', entries: 2, duplicates: 0 });
  assert.deepEqual(plan.outcomes[1], { kind: 'gap', gaps: [{ accountId: x, beforeSequence: 3n }] });
  assert.deepEqual(plan.outcomes[2], {
    kind: 'gap',
    gaps: [
      { accountId: y, beforeSequence: 3n },
      { accountId: z, beforeSequence: 2n },
    ],
  });
  assert.deepEqual(plan.entries, first.entries);
});

test('a repeated event in one batch, and one repeated from the history, are duplicates that change nothing', () => {
  const l = ledger();
  const old = l.book(x, y, 100n);
  const fresh = l.book(x, y, 10n);
  const plan = planBatch(storedOf(row(x, -100n, 1n), row(y, 100n, 1n)), recordedOf([old]), [old, fresh, { ...fresh }, old]);
  assert.deepEqual(plan.outcomes, [
    { kind: 'applied', entries: 0, duplicates: 2 },
    { kind: 'applied', entries: 2, duplicates: 0 },
    { kind: 'applied', entries: 0, duplicates: 2 },
    { kind: 'applied', entries: 0, duplicates: 2 },
  ]);
  assert.deepEqual(plan.entries, fresh.entries);
  assert.deepEqual(possibleDuplicates(storedOf(row(x, -100n, 1n), row(y, 100n, 1n)), [old, fresh]), [
    { accountId: x, sequence: 1n },
    { accountId: y, sequence: 1n },
  ]);
});

test('a "duplicate" that contradicts what was applied refuses its whole event: the other leg does not apply', () => {
  const l = ledger();
  const applied = l.book(x, y, 100n); // x #1, y #1
  // x #1 again but saying something else, with a y #2 that would add up.
  const forged: BalanceEvent = {
    kind: 'entries',
    entries: [
      { ...applied.entries[0]!, amount: -1n, balanceAfter: -1n },
      { ...applied.entries[1]!, amount: 1n, balanceAfter: 101n, sequence: 2n },
    ],
  };
  for (const recorded of [recordedOf([applied]), new Map<string, RecordedEntry>()]) {
    // From the history, or from an earlier event of the same batch.
    const events = recorded.size > 0 ? [forged] : [applied, forged];
    const stored = recorded.size > 0 ? storedOf(row(x, -100n, 1n), row(y, 100n, 1n)) : storedOf(row(x, 0n, 0n), row(y, 0n, 0n));
    const plan = planBatch(stored, recorded, events);
    const outcome = plan.outcomes.at(-1);
    assert.equal(reasonOf(outcome), 'duplicate_mismatch');
    assert.equal(outcome?.kind === 'invalid' && outcome.accountId, x);
    assert.ok(!plan.entries.some((e) => e.accountId === y && e.sequence === 2n));
  }
});

test('an event that does not add up is refused alone: later events of other accounts apply, of its accounts wait', () => {
  const l = ledger();
  const good = l.book(x, y, 100n);
  const booked = l.book(x, z, 5n); // x #2, z #1
  const bad: BalanceEvent = { kind: 'entries', entries: [{ ...booked.entries[0]!, balanceAfter: 999n }, booked.entries[1]!] };
  const unrelated = l.book(y, ids[3], 1n);
  const after = l.book(x, y, 1n); // x #3, y #3
  const plan = planBatch(storedOf(...ids.map((id) => row(id, 0n, 0n))), new Map(), [good, bad, unrelated, after]);
  assert.equal(plan.outcomes[0]!.kind, 'applied');
  assert.equal(reasonOf(plan.outcomes[1]), 'balance_mismatch');
  assert.equal(plan.outcomes[2]!.kind, 'applied');
  // x #3 needs x #2, which only the ledger can tell now.
  assert.deepEqual(plan.outcomes[3], { kind: 'gap', gaps: [{ accountId: x, beforeSequence: 3n }] });
  assert.ok(!plan.entries.some((e) => e.accountId === z), "the bad event's other leg is not applied");
});

test('entries may overtake account.opened; the opening then fills in the owner', () => {
  const l = ledger();
  const deposit = l.book(x, y, 100n);
  const plan = planBatch(storedOf(row(x, 0n, 0n)), new Map(), [deposit, opened(y, 'ana'), opened(z, 'bob')]);
  assert.deepEqual(plan.outcomes.map((o) => o.kind), ['applied', 'applied', 'applied']);
  assert.deepEqual(
    plan.changed.map((v) => [v.accountId, v.ownerId, v.posted, v.revision]),
    [
      [x, 'owner', -100n, 2n],
      // Two changes (the entry, then the owner): two revisions, so the cached copy without owner is replaced.
      [y, 'ana', 100n, 3n],
      [z, 'bob', 0n, 1n],
    ],
  );
});

test('an opening that names another owner or currency is refused; a repeated one changes nothing', () => {
  const stored = storedOf({ ...row(x, 5n, 1n, 'ana'), limitsChangedAt: at });
  const plan = planBatch(stored, new Map(), [opened(x, 'eve'), opened(x, 'ana', 'EUR'), opened(x, 'ana')]);
  assert.equal(reasonOf(plan.outcomes[0]), 'owner_mismatch');
  assert.equal(reasonOf(plan.outcomes[1]), 'currency_mismatch');
  assert.deepEqual(plan.outcomes[2], { kind: 'applied', entries: 0, duplicates: 0 });
  assert.deepEqual(plan.changed, []);
  assert.deepEqual(plan.touched, [stored.get(x)]);
});

test('an absent account starts from the first event that applies to it, not from a refused one', () => {
  const bogus: BalanceEvent = {
    kind: 'entries',
    entries: [{ accountId: y, currency: 'EUR', amount: 1n, balanceAfter: 5n, pendingAmount: 0n, pendingAfter: null, sequence: 1n, createdAt: at, transferId: null }],
  };
  const real = ledger().book(x, y, 1n);
  assert.equal(startingRows([bogus, real]).find((r) => r.accountId === y)?.currency, 'EUR', 'the store inserts a placeholder from the first event');
  const plan = planBatch(storedOf(row(x, 0n, 0n)), new Map(), [bogus, real]);
  assert.equal(reasonOf(plan.outcomes[0]), 'balance_mismatch');
  assert.deepEqual(plan.changed.find((v) => v.accountId === y), { ...row(y, 1n, 1n, null), revision: 2n });
  // An absent account that no applied event touched is not in the plan: the store drops its placeholder.
  assert.deepEqual(planBatch(new Map(), new Map(), [bogus]).touched, []);
});

test('any order and any repetition of a complete set of transfers in one batch ends at the ledger', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(3), fc.nat(3), fc.bigInt({ min: 1n, max: 1000n })), { minLength: 1, maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
      (transfers, repeats, swaps) => {
        const l = ledger();
        const events: BalanceEvent[] = transfers.map(([from, to, amount]) => l.book(ids[from]!, ids[(from + 1 + (to % 3)) % 4]!, amount));
        const delivered = [...events, ...repeats.map((i) => events[i % events.length]!)];
        for (let i = delivered.length - 1; i > 0; i--) {
          const j = swaps[i % swaps.length]! % (i + 1);
          [delivered[i], delivered[j]] = [delivered[j]!, delivered[i]!];
        }
        const plan = planBatch(new Map(), new Map(), delivered);
        assert.ok(plan.outcomes.every((o) => o.kind === 'applied'));
        assert.equal(plan.entries.length, transfers.length * 2);
        for (const view of plan.touched) {
          assert.equal(view.posted, l.balances.get(view.accountId)!.posted);
          assert.equal(view.sequence, l.balances.get(view.accountId)!.sequence);
          assert.ok(view.revision > view.sequence);
        }
      },
    ),
  );
});

const later = (minutes: number) => new Date(Date.parse(at) + minutes * 60_000).toISOString();

test('a hold reserves on the source, its capture releases the reservation and moves the money', () => {
  const l = ledger();
  const deposit = l.book(z, x, 1000n);
  const reserve = l.hold(x, 300n);
  const capture = l.capture(x, y, 300n, 200n);
  const reserved = planBatch(storedOf(row(x, 0n, 0n), row(y, 0n, 0n), row(z, 0n, 0n)), new Map(), [deposit, reserve]);
  assert.deepEqual(reserved.outcomes.map((o) => o.kind), ['applied', 'applied']);
  const afterHold = reserved.changed.find((v) => v.accountId === x)!;
  assert.deepEqual([afterHold.posted, afterHold.pending, afterHold.sequence], [1000n, 300n, 2n]);
  assert.deepEqual(reserved.entries.at(-1), reserve.entries[0], 'the reservation entry is recorded as the ledger wrote it');

  const posted = planBatch(storedOf(afterHold, row(y, 0n, 0n)), new Map(), [capture]);
  assert.deepEqual(posted.outcomes, [{ kind: 'applied', entries: 2, duplicates: 0 }]);
  assert.deepEqual(
    posted.changed.map((v) => [v.accountId, v.posted, v.pending, v.sequence]),
    [
      [x, 800n, 0n, 3n],
      [y, 200n, 0n, 1n],
    ],
  );
  // A capture whose reservation does not add up is refused whole: the credit does not apply either.
  const forged: BalanceEvent = {
    kind: 'entries',
    entries: [{ ...capture.entries[0]!, pendingAfter: 100n }, capture.entries[1]!],
  };
  const refused = planBatch(storedOf(afterHold, row(y, 0n, 0n)), new Map(), [forged]);
  assert.equal(reasonOf(refused.outcomes[0]), 'pending_mismatch');
  assert.deepEqual(refused.entries, []);
  // A redelivered reservation saying another amount than the one recorded contradicts it.
  const recorded = recordedOf([reserve]);
  const replay: BalanceEvent = { kind: 'entries', entries: [{ ...reserve.entries[0]!, pendingAmount: 30n, pendingAfter: 30n }] };
  assert.equal(reasonOf(planBatch(storedOf(afterHold), recorded, [replay]).outcomes[0]), 'duplicate_mismatch');
});

test('a limits change applies if newer than the limit held; an older or repeated one changes nothing', () => {
  const stored = storedOf({ ...row(x, 100n, 1n), overdraftLimit: 500n, limitsChangedAt: later(1) });
  const plan = planBatch(stored, new Map(), [limitsChanged(x, 2000n, later(5)), limitsChanged(x, 50n, later(3)), limitsChanged(x, 2000n, later(5))]);
  assert.deepEqual(plan.outcomes.map((o) => o.kind), ['applied', 'applied', 'applied']);
  assert.deepEqual(plan.changed.map((v) => [v.overdraftLimit, v.limitsChangedAt, v.updatedAt, v.revision, v.posted, v.sequence]), [[2000n, later(5), later(5), 3n, 100n, 1n]]);
  // Older than what is held: nothing changes, not even the revision.
  const stale = planBatch(stored, new Map(), [limitsChanged(x, 1n, later(1))]);
  assert.deepEqual(stale.changed, []);
  assert.deepEqual(stale.touched, [stored.get(x)]);
});

test("a limits change that overtook the opening is kept: the opening fills in owner and currency, not its older limit", () => {
  const l = ledger();
  const plan = planBatch(new Map(), new Map(), [limitsChanged(x, 7000n, later(10))]);
  const first = plan.changed[0]!;
  assert.deepEqual([first.ownerId, first.currency, first.overdraftLimit, first.sequence, first.revision], [null, null, 7000n, 0n, 1n]);

  const deposit = l.book(z, x, 100n);
  const next = planBatch(storedOf(first, row(z, 0n, 0n)), new Map(), [deposit, opened(x, 'ana', 'USD', 0n, at)]);
  assert.deepEqual(next.outcomes.map((o) => o.kind), ['applied', 'applied']);
  const view = next.changed.find((v) => v.accountId === x)!;
  assert.deepEqual([view.ownerId, view.currency, view.posted, view.overdraftLimit, view.limitsChangedAt, view.revision], ['ana', 'USD', 100n, 7000n, later(10), 3n]);

  // The opening's own limit applies when nothing newer is known: to a new account, or one whose entries came first.
  const fresh = planBatch(new Map(), new Map(), [opened(y, 'bob', 'USD', 9223372036854775807n)]);
  assert.deepEqual([fresh.changed[0]!.overdraftLimit, fresh.changed[0]!.limitsChangedAt], [9223372036854775807n, at]);
  const afterEntries = planBatch(storedOf(row(y, 5n, 1n, null)), new Map(), [opened(y, 'bob', 'USD', 300n)]);
  assert.deepEqual([afterEntries.changed[0]!.ownerId, afterEntries.changed[0]!.overdraftLimit], ['bob', 300n]);
  // A repeated opening changes nothing, and does not undo a later limits change.
  const changedLater = { ...row(y, 5n, 1n, 'bob'), overdraftLimit: 900n, limitsChangedAt: later(1) };
  assert.deepEqual(planBatch(storedOf(changedLater), new Map(), [opened(y, 'bob', 'USD', 300n)]).changed, []);
});

test('every change of a row gets a higher revision, always above its sequence', () => {
  const l = ledger();
  const events = [l.book(x, y, 1n), l.book(x, y, 1n), limitsChanged(x, 10n, later(1)), l.book(y, x, 1n)];
  const plan = planBatch(storedOf(row(x, 0n, 0n), { ...row(y, 0n, 0n), revision: 0n }), new Map(), events);
  const [vx, vy] = plan.changed;
  assert.deepEqual([vx!.sequence, vx!.revision], [3n, 5n]);
  // y had a revision below its sequence (a row written around the service): lifted above it.
  assert.deepEqual([vy!.sequence, vy!.revision], [3n, 4n]);
});
