import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyEntry, planEntries, type BalanceState } from './apply.ts';
import type { Entry } from './entry.ts';

const accountId = '6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5';
const otherAccountId = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

const state = (available: bigint, sequence: bigint): BalanceState => ({ accountId, currency: 'USD', available, sequence });

const entry = (sequence: bigint, amount: bigint, balanceAfter: bigint, overrides: Partial<Entry> = {}): Entry => ({
  accountId,
  currency: 'USD',
  amount,
  balanceAfter,
  sequence,
  createdAt: '2025-01-01T00:00:00.000Z',
  transferId: null,
  ...overrides,
});

/** A valid run of entries from sequence 1 with the given signed amounts. */
function history(amounts: readonly bigint[]): Entry[] {
  let balance = 0n;
  return amounts.map((amount, i) => {
    balance += amount;
    return entry(BigInt(i + 1), amount, balance);
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
      fc.array(fc.bigInt({ min: -1_000_000n, max: 1_000_000n }), { minLength: 1, maxLength: 30 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
      (amounts, repeats, swaps) => {
        const entries = history(amounts);
        const delivered = [...entries, ...repeats.map((i) => entries[i % entries.length]!)];
        // Fisher–Yates with generated choices: any delivery order.
        for (let i = delivered.length - 1; i > 0; i--) {
          const j = swaps[i]! % (i + 1);
          [delivered[i], delivered[j]] = [delivered[j]!, delivered[i]!];
        }
        const plan = planEntries(state(0n, 0n), delivered);
        assert.equal(plan.kind, 'ok');
        if (plan.kind !== 'ok') return;
        assert.equal(plan.next.available, entries.at(-1)!.balanceAfter);
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
