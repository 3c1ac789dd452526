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

/** A tiny ledger: books transfers and hands out their events, like the transaction service. */
function ledger() {
  const balances = new Map<string, { available: bigint; sequence: bigint }>();
  let transfers = 0;
  const post = (accountId: string, amount: bigint, transferId: string): Entry => {
    const now = balances.get(accountId) ?? { available: 0n, sequence: 0n };
    const next = { available: now.available + amount, sequence: now.sequence + 1n };
    balances.set(accountId, next);
    return { accountId, currency: 'USD', amount, balanceAfter: next.available, sequence: next.sequence, createdAt: at, transferId };
  };
  return {
    balances,
    book(from: string, to: string, amount: bigint): BalanceEvent & { kind: 'entries' } {
      const transferId = `00000000-0000-4000-8000-${String(++transfers).padStart(12, '0')}`;
      return { kind: 'entries', entries: [post(from, -amount, transferId), post(to, amount, transferId)], createdAt: at };
    },
  };
}

const row = (accountId: string, available: bigint, sequence: bigint, ownerId: string | null = 'owner'): BalanceView => ({
  accountId,
  ownerId,
  currency: 'USD',
  available,
  pending: 0n,
  sequence,
  updatedAt: at,
});

/** Why an event was refused; undefined when it was not. */
const reasonOf = (outcome: EventOutcome | undefined) => (outcome?.kind === 'invalid' ? outcome.reason : undefined);
const storedOf = (...rows: BalanceView[]) => new Map(rows.map((r) => [r.accountId, r]));
const opened = (accountId: string, ownerId: string, currency = 'USD'): BalanceEvent => ({ kind: 'account_opened', account: { accountId, ownerId, currency, createdAt: at } });
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
    plan.changed.map((v) => [v.accountId, v.available, v.sequence]),
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
  assert.equal(plan.changed.find((v) => v.accountId === y)?.available, 150n);
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
  assert.deepEqual(plan.ownersFilled, [y]);
  assert.deepEqual(
    plan.changed.map((v) => [v.accountId, v.ownerId, v.available]),
    [
      [x, 'owner', -100n],
      [y, 'ana', 100n],
      [z, 'bob', 0n],
    ],
  );
});

test('an opening that names another owner or currency is refused; a repeated one changes nothing', () => {
  const stored = storedOf(row(x, 5n, 1n, 'ana'));
  const plan = planBatch(stored, new Map(), [opened(x, 'eve'), opened(x, 'ana', 'EUR'), opened(x, 'ana')]);
  assert.equal(reasonOf(plan.outcomes[0]), 'owner_mismatch');
  assert.equal(reasonOf(plan.outcomes[1]), 'currency_mismatch');
  assert.deepEqual(plan.outcomes[2], { kind: 'applied', entries: 0, duplicates: 0 });
  assert.deepEqual(plan.changed, []);
  assert.deepEqual(plan.touched, [stored.get(x)]);
});

test('an absent account starts from the first event that applies to it, not from a refused one', () => {
  const bogus: BalanceEvent = { kind: 'entries', entries: [{ accountId: y, currency: 'EUR', amount: 1n, balanceAfter: 5n, sequence: 1n, createdAt: at, transferId: null }] };
  const real = ledger().book(x, y, 1n);
  assert.equal(startingRows([bogus, real]).find((r) => r.accountId === y)?.currency, 'EUR', 'the store inserts a placeholder from the first event');
  const plan = planBatch(storedOf(row(x, 0n, 0n)), new Map(), [bogus, real]);
  assert.equal(reasonOf(plan.outcomes[0]), 'balance_mismatch');
  assert.deepEqual(plan.changed.find((v) => v.accountId === y), { ...row(y, 1n, 1n, null) });
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
          assert.equal(view.available, l.balances.get(view.accountId)!.available);
          assert.equal(view.sequence, l.balances.get(view.accountId)!.sequence);
        }
      },
    ),
  );
});
