import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBatcher } from './batcher.ts';

test('items that arrive while a batch runs go together into the next one, in order', async () => {
  const batches: number[][] = [];
  const batcher = createBatcher<number, number>(async (items) => {
    batches.push(items);
    await new Promise((resolve) => setTimeout(resolve, 10));
    return items.map((n) => ({ ok: true, value: n * 2 }));
  }, 3);
  const results = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => batcher.submit(n)));
  assert.deepEqual(results, [2, 4, 6, 8, 10, 12, 14]);
  assert.deepEqual(batches, [[1], [2, 3, 4], [5, 6, 7]]);
  assert.equal(batcher.size, 0);
});

test('one item can fail alone; a failed batch fails its own items only', async () => {
  let calls = 0;
  const batcher = createBatcher<number, number>(async (items) => {
    calls++;
    if (calls === 2) throw new Error('database down');
    return items.map((n) => (n === 1 ? { ok: false, error: new Error('refused') } : { ok: true, value: n }));
  }, 10);
  const first = batcher.submit(1);
  const second = batcher.submit(2);
  await assert.rejects(first, /refused/);
  await assert.rejects(second, /database down/);
  assert.equal(await batcher.submit(3), 3);
});
