import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { countedFailures, isLocked, penaltyMs, retryAfterSeconds, waitMs, type ThrottlePolicy } from './throttle-policy.ts';

const policy: ThrottlePolicy = { delayAfterFailures: 5, baseDelayMs: 1000, maxDelayMs: 60_000, lockAfterFailures: 10, lockMs: 15 * 60_000, windowMs: 24 * 3600_000 };
const at = (ms: number) => new Date(ms);

describe('throttle schedule', () => {
  test('free failures, then 1 s, 2 s, 4 s, 8 s, 16 s, then the lock', () => {
    assert.deepEqual(
      Array.from({ length: 12 }, (_, i) => penaltyMs(i, policy)),
      [0, 0, 0, 0, 0, 1000, 2000, 4000, 8000, 16_000, 900_000, 900_000],
    );
  });

  test('delays are capped', () => {
    const capped = { ...policy, maxDelayMs: 3000, lockAfterFailures: 50 };
    assert.deepEqual([5, 6, 7, 8, 30, 49].map((n) => penaltyMs(n, capped)), [1000, 2000, 3000, 3000, 3000, 3000]);
    assert.equal(penaltyMs(10_000, { ...policy, lockAfterFailures: 1_000_000 }), 60_000);
  });

  test('the wait runs from the last failure', () => {
    const state = { failures: 6, lastFailureAt: at(10_000) };
    assert.equal(waitMs(state, 10_000, policy), 2000);
    assert.equal(waitMs(state, 11_500, policy), 500);
    assert.equal(waitMs(state, 12_000, policy), 0);
    assert.equal(isLocked(state, 10_000, policy), false);
  });

  test('locked for lockMs after each failure past the threshold', () => {
    const state = { failures: 11, lastFailureAt: at(0) };
    assert.equal(waitMs(state, 1000, policy), 899_000);
    assert.equal(isLocked(state, 1000, policy), true);
    assert.equal(isLocked(state, 900_000, policy), false);
    assert.equal(waitMs(state, 900_000, policy), 0);
  });

  test('a quiet window forgets the failures', () => {
    const state = { failures: 40, lastFailureAt: at(0) };
    assert.equal(countedFailures(state, policy.windowMs - 1, policy), 40);
    assert.equal(countedFailures(state, policy.windowMs, policy), 0);
    assert.equal(waitMs(state, policy.windowMs, policy), 0);
    assert.equal(waitMs({ failures: 0, lastFailureAt: null }, 0, policy), 0);
  });

  test('Retry-After is whole seconds, at least one', () => {
    assert.deepEqual([1, 999, 1000, 1001, 899_000].map(retryAfterSeconds), [1, 1, 1, 2, 899]);
  });

  test('the penalty never shrinks as failures grow, and never exceeds the lock', () => {
    fc.assert(
      fc.property(fc.nat(200), fc.nat(200), (a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        assert.ok(penaltyMs(low, policy) <= penaltyMs(high, policy));
        assert.ok(penaltyMs(high, policy) <= Math.max(policy.lockMs, policy.maxDelayMs));
      }),
    );
  });

  test('about 100 guesses a day at the defaults: 10 quickly, then 4 an hour', () => {
    // An attacker who always waits exactly as long as told.
    let state = { failures: 0, lastFailureAt: null as Date | null };
    let now = 0;
    let guesses = 0;
    while (now < 24 * 3600_000) {
      now += waitMs(state, now, policy);
      guesses += 1;
      state = { failures: countedFailures(state, now, policy) + 1, lastFailureAt: at(now) };
    }
    assert.ok(guesses <= 10 + 24 * 4 + 1, `${guesses} guesses`);
  });
});
