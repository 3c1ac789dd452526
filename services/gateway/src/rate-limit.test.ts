import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCounter } from './rate-limit.ts';

test('memory counter: fixed windows per key', () => {
  const counter = new MemoryCounter();
  assert.deepEqual(counter.incr('a', 1000, 0), { current: 1, ttl: 1000 });
  assert.deepEqual(counter.incr('a', 1000, 400), { current: 2, ttl: 600 });
  assert.deepEqual(counter.incr('b', 1000, 400), { current: 1, ttl: 1000 });
  assert.deepEqual(counter.incr('a', 1000, 1000), { current: 1, ttl: 1000 }, 'a new window starts');
});

test('memory counter: bounded number of keys, oldest dropped first', () => {
  const counter = new MemoryCounter(2);
  counter.incr('a', 1000, 0);
  counter.incr('a', 1000, 0);
  counter.incr('b', 1000, 0);
  counter.incr('c', 1000, 0);
  assert.equal(counter.incr('a', 1000, 0).current, 1, 'a was evicted');
  assert.equal(counter.incr('c', 1000, 0).current, 2);
});
