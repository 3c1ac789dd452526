import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkByType, envelope, topicMatches } from './bus.ts';

test('events travel in runs of one type, in order, bounded', () => {
  const e = (type: string) => envelope('t', type, {});
  const events = [e('a'), e('a'), e('a'), e('b'), e('a')];
  assert.deepEqual(chunkByType(events, 2).map((c) => c.map((x) => x.type).join('')), ['aa', 'a', 'b', 'a']);
  assert.deepEqual(chunkByType(events, 2).flat(), events);
  assert.deepEqual(chunkByType([], 2), []);
});

test('topic patterns match like AMQP', () => {
  assert.ok(topicMatches('account.*', 'account.opened'));
  assert.ok(!topicMatches('account.*', 'account.opened.x'));
  assert.ok(topicMatches('#', 'a.b.c'));
  assert.ok(topicMatches('transaction.#', 'transaction'));
  assert.ok(!topicMatches('transaction.*', 'account.opened'));
});
