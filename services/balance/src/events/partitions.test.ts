import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { envelope } from '@wallet/kit';
import { eventTypes } from '@wallet/contracts';
import { ownPartitions, partitionOf, splitByPartition } from './partitions.ts';

test('an account always lands in the same partition, and accounts spread over all of them', () => {
  const id = randomUUID();
  assert.equal(partitionOf(id, 8), partitionOf(id.toUpperCase(), 8));
  const counts = new Array(8).fill(0);
  for (let i = 0; i < 8000; i++) counts[partitionOf(randomUUID(), 8)]++;
  assert.ok(counts.every((n) => n > 800 && n < 1200), counts.join(','));
});

test('a transfer is split into each account\'s share, in order; events that move nothing are dropped', () => {
  const a = '00000000-0000-4000-8000-000000000000'; // partition 0
  const b = '00000001-0000-4000-8000-000000000000'; // partition 1
  const entry = (accountId: string, sequence: string) => ({ accountId, sequence, amount: '1' });
  const first = envelope('transaction', eventTypes.transactionCreated, { transfer: { id: 't1' }, entries: [entry(a, '1'), entry(b, '1')] });
  const second = envelope('transaction', eventTypes.transactionCreated, { transfer: { id: 't2' }, entries: [entry(a, '2')] });
  const opened = envelope('account', eventTypes.accountOpened, { accountId: b });
  const ignored = envelope('account', eventTypes.accountStatusChanged, { accountId: a });
  const shares = splitByPartition([first, second, opened, ignored], 2);
  assert.deepEqual(
    shares.get(0)!.map((e) => (e.data as { entries: { sequence: string }[] }).entries.map((x) => x.sequence)),
    [['1'], ['2']],
  );
  assert.deepEqual(shares.get(1)!.map((e) => e.type), [eventTypes.transactionCreated, eventTypes.accountOpened]);
  assert.equal(shares.get(0)![1], second, 'an event wholly in one partition travels unchanged');
});

test('malformed events go to partition 0, where the consumer dead-letters them with the reason', () => {
  const broken = envelope('transaction', eventTypes.transactionCreated, { entries: 'nope' });
  assert.deepEqual(splitByPartition([broken], 4).get(0), [broken]);
});

test('replicas take disjoint partitions first and stand by on the rest', () => {
  assert.deepEqual(ownPartitions(8, 1, 3), { own: [1, 4, 7], standby: [0, 2, 3, 5, 6] });
  assert.deepEqual(ownPartitions(4, 0, 1), { own: [0, 1, 2, 3], standby: [] });
});
