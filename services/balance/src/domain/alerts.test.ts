import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { availableAfter, evaluateAlert, initialState, parseThreshold, step, type AlertThreshold, type BalancePoint } from './alerts.ts';
import { UNBOUNDED_OVERDRAFT } from './entry.ts';

const at = (sequence: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, sequence)).toISOString();
const points = (availables: readonly bigint[], firstSequence = 1): BalancePoint[] =>
  availables.map((available, i) => ({ sequence: BigInt(firstSequence + i), available, at: at(firstSequence + i) }));
const armed = (below: bigint, checkedAvailable: bigint, checkedSequence = 0n): AlertThreshold => ({ below, state: 'armed', checkedSequence, checkedAvailable });

test('a crossing fires once, however many entries stay under the threshold', () => {
  const result = evaluateAlert(armed(5_000n, 10_000n), points([7_000n, 4_000n, 3_000n, 1_000n]));
  assert.equal(result.state, 'triggered');
  assert.deepEqual(result.crossings, [{ sequence: 2n, balanceBefore: 7_000n, balanceAfter: 4_000n, at: at(2) }]);
  assert.equal(result.checkedSequence, 4n);
  assert.equal(result.checkedAvailable, 1_000n);
});

test('coming back to the threshold re-arms silently; the next crossing fires again', () => {
  const result = evaluateAlert(armed(5_000n, 10_000n), points([4_000n, 5_000n, 6_000n, 4_999n, 5_000n]));
  assert.equal(result.state, 'armed');
  assert.deepEqual(
    result.crossings.map((c) => [c.sequence, c.balanceBefore, c.balanceAfter]),
    [
      [1n, 10_000n, 4_000n],
      [4n, 6_000n, 4_999n],
    ],
  );
});

test('exactly the threshold is not under it', () => {
  assert.equal(evaluateAlert(armed(5_000n, 9_000n), points([5_000n])).crossings.length, 0);
  assert.equal(initialState(5_000n, 5_000n), 'armed');
  assert.equal(initialState(4_999n, 5_000n), 'triggered');
});

test('an alert made while already under starts triggered and fires only after coming back', () => {
  const alert: AlertThreshold = { below: 5_000n, state: initialState(1_000n, 5_000n), checkedSequence: 3n, checkedAvailable: 1_000n };
  assert.equal(evaluateAlert(alert, points([500n, 200n], 4)).crossings.length, 0);
  const back = evaluateAlert(alert, points([500n, 8_000n, 100n], 4));
  assert.deepEqual(back.crossings.map((c) => c.sequence), [6n]);
});

test('entries already checked are skipped; evaluating the same entries again fires nothing more', () => {
  const entries = points([7_000n, 4_000n, 3_000n]);
  const first = evaluateAlert(armed(5_000n, 10_000n), entries);
  assert.equal(first.crossings.length, 1);
  const again = evaluateAlert({ below: 5_000n, ...first }, entries, { sequence: 3n, available: 3_000n, at: at(3) });
  assert.deepEqual(again.crossings, []);
  assert.equal(again.state, 'triggered');
  // Half the entries, then all of them (a walk in pages): the same single crossing.
  const half = evaluateAlert(armed(5_000n, 10_000n), entries.slice(0, 1));
  const rest = evaluateAlert({ below: 5_000n, ...half }, entries);
  assert.deepEqual([...half.crossings, ...rest.crossings].map((c) => c.sequence), [2n]);
});

test('a limits change alone crosses at the current point (no new entry)', () => {
  const alert = armed(5_000n, 6_000n, 7n);
  const lowered = evaluateAlert(alert, [], { sequence: 7n, available: 1_000n, at: at(99) });
  assert.deepEqual(lowered.crossings, [{ sequence: 7n, balanceBefore: 6_000n, balanceAfter: 1_000n, at: at(99) }]);
  // A balance row behind the alert (a rebuild replaying the history) is not evaluated.
  assert.deepEqual(evaluateAlert(alert, [], { sequence: 5n, available: 1_000n, at: at(99) }).crossings, []);
});

test('available after an entry: posted − pending + the limit known now; an entry before holds reserves nothing', () => {
  assert.equal(availableAfter({ balanceAfter: 1_000n, pendingAfter: 300n }, 500n), 1_200n);
  assert.equal(availableAfter({ balanceAfter: 1_000n, pendingAfter: null }, 0n), 1_000n);
  assert.equal(availableAfter({ balanceAfter: -1_000n, pendingAfter: 0n }, UNBOUNDED_OVERDRAFT), -1_000n);
});

test('thresholds are digit strings within bigint', () => {
  assert.equal(parseThreshold('0'), 0n);
  assert.equal(parseThreshold('9223372036854775807'), 9223372036854775807n);
  for (const bad of ['', '-1', '01', '1.5', '9223372036854775808', ' 1']) assert.equal(parseThreshold(bad), undefined, bad);
});

test('property: crossings are exactly the armed-to-under steps, whatever the paging', () => {
  fc.assert(
    fc.property(
      fc.array(fc.bigInt({ min: -2_000n, max: 2_000n }), { maxLength: 40 }),
      fc.bigInt({ min: -500n, max: 500n }),
      fc.integer({ min: 1, max: 10 }),
      (availables, below, page) => {
        const entries = points(availables);
        // The model: a crossing wherever the previous value is at or above and this one under.
        const expected: bigint[] = [];
        let state = initialState(0n, below);
        for (const p of entries) {
          const next = step(state, p.available, below);
          if (state === 'armed' && p.available < below) expected.push(p.sequence);
          state = next.state;
        }
        let progress: AlertThreshold = { below, state: initialState(0n, below), checkedSequence: 0n, checkedAvailable: 0n };
        const seen: bigint[] = [];
        for (let i = 0; i < entries.length; i += page) {
          // Each page is walked twice (a redelivery, another replica): the second walk adds nothing.
          for (let k = 0; k < 2; k++) {
            const result = evaluateAlert(progress, entries.slice(0, i + page));
            seen.push(...result.crossings.map((c) => c.sequence));
            progress = { below, ...result };
          }
        }
        assert.deepEqual(seen, expected);
        assert.equal(progress.state, state);
      },
    ),
  );
});
