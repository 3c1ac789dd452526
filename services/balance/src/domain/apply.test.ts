import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyEntry, contradictsRecord, planEntries, type BalanceState } from './apply.ts';
import type { Entry } from './entry.ts';

const accountId = '6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5';
const otherAccountId = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

const state = (posted: bigint, sequence: bigint, pending = 0n): BalanceState => ({ accountId, currency: 'USD', posted, pending, sequence });

/** An entry as written before holds (no pendingAmount, no pendingAfter), unless overridden. */
const entry = (sequence: bigint, amount: bigint, balanceAfter: bigint, overrides: Partial<Entry> = {}): Entry => ({
  accountId,
  currency: 'USD',
  amount,
  balanceAfter,
  pendingAmount: 0n,
  pendingAfter: null,
  sequence,
  createdAt: '2025-01-01T00:00:00.000Z',
  transferId: null,
  ...overrides,
});

/** A valid run of entries from sequence 1 with the given signed amounts (and reservation changes), as the ledger writes them now. */
function history(amounts: readonly bigint[], pendingAmounts: readonly bigint[] = []): Entry[] {
  let balance = 0n;
  let pending = 0n;
  return amounts.map((amount, i) => {
    balance += amount;
    pending += pendingAmounts[i] ?? 0n;
    return entry(BigInt(i + 1), amount, balance, { pendingAmount: pendingAmounts[i] ?? 0n, pendingAfter: pending });
  });
}

test('the next entry that adds up is applied', () => {
  assert.deepEqual(applyEntry(state(1000n, 4n), entry(5n, -250n, 750n)), { kind: 'apply', next: state(750n, 5n) });
});

test('an entry at or below the stored sequence is a duplicate, whatever it says', () => {
  assert.deepEqual(applyEntry(state(1000n, 4n), entry(4n, -250n, 750n)), { kind: 'duplicate' });
  assert.deepEqual(applyEntry(state(1000n, 4n), entry(1n, 5n, 99n)), { kind: 'duplicate' });
});

test('an entry beyond the next sequence is a gap naming the missing sequences', () => {
  assert.deepEqual(applyEntry(state(0n, 0n), entry(2n, 100n, 300n)), { kind: 'gap', missingFrom: 1n, missingTo: 1n });
  assert.deepEqual(applyEntry(state(10n, 3n), entry(9n, 1n, 11n)), { kind: 'gap', missingFrom: 4n, missingTo: 8n });
});

test('an entry whose arithmetic does not add up is invalid', () => {
  const decision = applyEntry(state(1000n, 4n), entry(5n, -250n, 800n));
  assert.equal(decision.kind, 'invalid');
  assert.equal(decision.kind === 'invalid' && decision.reason, 'balance_mismatch');
});

test('an entry in another currency is invalid', () => {
  const decision = applyEntry(state(1000n, 4n), entry(5n, 10n, 1010n, { currency: 'EUR' }));
  assert.equal(decision.kind === 'invalid' && decision.reason, 'currency_mismatch');
});

test("an entry of another account is invalid, even as a 'duplicate'", () => {
  const decision = applyEntry(state(1000n, 4n), entry(1n, 10n, 10n, { accountId: otherAccountId }));
  assert.equal(decision.kind === 'invalid' && decision.reason, 'account_mismatch');
});

test('balances may go below zero (system accounts, overdrafts): the ledger decided, the projection follows', () => {
  assert.deepEqual(applyEntry(state(0n, 0n), entry(1n, -500n, -500n)), { kind: 'apply', next: state(-500n, 1n) });
});

test('a plan applies a batch in sequence order and counts duplicates', () => {
  const [e1, e2, e3] = history([100n, -30n, 5n]);
  const plan = planEntries(state(100n, 1n), [e3!, e1!, e2!]);
  assert.deepEqual(plan, { kind: 'ok', apply: [e2, e3], duplicates: [e1], next: state(75n, 3n) });
});

test('a plan stops at the first gap', () => {
  const [e1, , e3] = history([100n, -30n, 5n]);
  assert.deepEqual(planEntries(state(0n, 0n), [e1!, e3!]), { kind: 'gap', beforeSequence: 3n, missingFrom: 2n, missingTo: 2n });
});

test('a plan stops at the first invalid entry and applies nothing', () => {
  const [e1] = history([100n]);
  const bad = entry(2n, -30n, 80n);
  const plan = planEntries(state(0n, 0n), [e1!, bad]);
  assert.equal(plan.kind, 'invalid');
  assert.equal(plan.kind === 'invalid' && plan.entry, bad);
});

test('any delivery order and any repetition of a complete history ends at the ledger balance', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.bigInt({ min: -1_000_000n, max: 1_000_000n }), fc.bigInt({ min: -1000n, max: 1000n })), { minLength: 1, maxLength: 30 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
      (moves, repeats, swaps) => {
        const entries = history(
          moves.map(([amount]) => amount),
          moves.map(([, pendingAmount]) => pendingAmount),
        );
        const delivered = [...entries, ...repeats.map((i) => entries[i % entries.length]!)];
        // Fisher–Yates with generated choices: any delivery order.
        for (let i = delivered.length - 1; i > 0; i--) {
          const j = swaps[i]! % (i + 1);
          [delivered[i], delivered[j]] = [delivered[j]!, delivered[i]!];
        }
        const plan = planEntries(state(0n, 0n), delivered);
        assert.equal(plan.kind, 'ok');
        if (plan.kind !== 'ok') return;
        assert.equal(plan.next.posted, entries.at(-1)!.balanceAfter);
        assert.equal(plan.next.pending, entries.at(-1)!.pendingAfter);
        assert.equal(plan.next.sequence, BigInt(entries.length));
        assert.equal(plan.duplicates.length, repeats.length);
      },
    ),
  );
});

test('a history with any one entry missing is always reported as a gap, never applied past it', () => {
  fc.assert(
    fc.property(fc.array(fc.bigInt({ min: -1000n, max: 1000n }), { minLength: 2, maxLength: 20 }), fc.nat(), (amounts, pick) => {
      const entries = history(amounts);
      const missing = pick % (entries.length - 1); // never the last one: a missing tail is no gap
      const plan = planEntries(state(0n, 0n), entries.filter((_, i) => i !== missing));
      assert.equal(plan.kind, 'gap');
      assert.equal(plan.kind === 'gap' && plan.missingFrom, BigInt(missing + 1));
    }),
  );
});

test('a hold reserves, then its capture releases the reservation and moves the money: posted and pending follow', () => {
  // Reserve 300 (amount 0), then post 200 of it: release the 300, debit 200.
  const reserve = entry(5n, 0n, 1000n, { pendingAmount: 300n, pendingAfter: 300n });
  const capture = entry(6n, -200n, 800n, { pendingAmount: -300n, pendingAfter: 0n });
  assert.deepEqual(applyEntry(state(1000n, 4n), reserve), { kind: 'apply', next: state(1000n, 5n, 300n) });
  assert.deepEqual(applyEntry(state(1000n, 5n, 300n), capture), { kind: 'apply', next: state(800n, 6n, 0n) });
  const plan = planEntries(state(1000n, 4n), [capture, reserve]);
  assert.deepEqual(plan, { kind: 'ok', apply: [reserve, capture], duplicates: [], next: state(800n, 6n, 0n) });
});

test('an entry whose reservation does not add up is invalid, even when its balance does', () => {
  const decision = applyEntry(state(1000n, 4n, 300n), entry(5n, 0n, 1000n, { pendingAmount: -300n, pendingAfter: 100n }));
  assert.equal(decision.kind, 'invalid');
  assert.equal(decision.kind === 'invalid' && decision.reason, 'pending_mismatch');
  assert.match(decision.kind === 'invalid' ? decision.detail : '', /pending 300 \+ -300 is 0, entry says 100/);
  // pendingAfter alone (pendingAmount absent: 0) must repeat the reservation held.
  assert.equal(applyEntry(state(1000n, 4n, 300n), entry(5n, 10n, 1010n, { pendingAfter: 0n })).kind, 'invalid');
  // A reservation out of PostgreSQL's bigint range is refused too.
  const huge = applyEntry(state(0n, 0n, 2n ** 63n - 1n), entry(1n, 0n, 0n, { pendingAmount: 1n }));
  assert.equal(huge.kind === 'invalid' && huge.reason, 'pending_mismatch');
});

test('entries written before holds leave the reservation as it is; the plan records the reservation after each', () => {
  assert.deepEqual(applyEntry(state(1000n, 4n, 300n), entry(5n, -100n, 900n)), { kind: 'apply', next: state(900n, 5n, 300n) });
  // pendingAmount without pendingAfter: applied, nothing to check against.
  assert.deepEqual(applyEntry(state(1000n, 4n, 300n), entry(5n, 0n, 1000n, { pendingAmount: 50n })), { kind: 'apply', next: state(1000n, 5n, 350n) });
  const old = entry(5n, -100n, 900n);
  const plan = planEntries(state(1000n, 4n, 300n), [old]);
  assert.deepEqual(plan.kind === 'ok' && plan.apply, [{ ...old, pendingAfter: 300n }]);
});

test('an account whose currency is not known yet takes its first entry\'s', () => {
  const unknown: BalanceState = { ...state(0n, 0n), currency: null };
  assert.deepEqual(applyEntry(unknown, entry(1n, 5n, 5n, { currency: 'EUR' })), { kind: 'apply', next: { ...state(5n, 1n), currency: 'EUR' } });
});

test('a duplicate that repeats another reservation than the one recorded contradicts it', () => {
  const recorded = { amount: 0n, balanceAfter: 1000n, pendingAmount: 300n, pendingAfter: 300n, transferId: null };
  assert.equal(contradictsRecord(recorded, entry(5n, 0n, 1000n, { pendingAmount: 300n, pendingAfter: 300n })), undefined);
  assert.match(contradictsRecord(recorded, entry(5n, 0n, 1000n, { pendingAmount: 200n, pendingAfter: 200n })) ?? '', /pending 300 → 300, repeated as 200 → 200/);
  assert.ok(contradictsRecord(recorded, entry(5n, 0n, 1000n, { pendingAmount: 300n, pendingAfter: 301n })));
  // Recorded before the reservation was kept: only the balance can be compared.
  assert.equal(contradictsRecord({ ...recorded, pendingAmount: null, pendingAfter: null }, entry(5n, 0n, 1000n, { pendingAmount: 7n, pendingAfter: 7n })), undefined);
});
