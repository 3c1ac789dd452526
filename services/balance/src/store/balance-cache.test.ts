import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryCache } from '@wallet/kit';
import type { BalanceView } from '../domain/balance.ts';
import { cacheKey, createBalanceCache } from './balance-cache.ts';

const accountId = '6f1c2d3e-4a5b-4c6d-8e7f-90a1b2c3d4e5';
const silent = { warn: () => undefined, error: () => undefined };

const view = (fields: Partial<BalanceView> = {}): BalanceView => ({
  accountId,
  ownerId: 'ana',
  currency: 'USD',
  posted: 1000n,
  pending: 300n,
  overdraftLimit: 500n,
  limitsChangedAt: '2025-01-01T00:00:00.000Z',
  sequence: 4n,
  revision: 6n,
  updatedAt: '2025-01-02T00:00:00.000Z',
  ...fields,
});

function setup() {
  const inner = createMemoryCache();
  return { inner, cache: createBalanceCache({ cache: inner, log: silent, timeoutMs: 1000, staleAccountsMax: 10 }) };
}

test('a balance goes into the cache whole, versioned by its revision, and comes back the same', async () => {
  const { inner, cache } = setup();
  await cache.write(view());
  assert.deepEqual(await inner.getVersioned(cacheKey(accountId)), {
    version: '6',
    sequence: '4',
    posted: '1000',
    pending: '300',
    overdraftLimit: '500',
    available: '1200',
    limitsChangedAt: '2025-01-01T00:00:00.000Z',
    currency: 'USD',
    ownerId: 'ana',
    updatedAt: '2025-01-02T00:00:00.000Z',
  });
  assert.deepEqual(await cache.read(accountId), view());
  const unknown = view({ ownerId: null, currency: null, limitsChangedAt: null, revision: 7n });
  await cache.write(unknown);
  assert.deepEqual(await cache.read(accountId), unknown);
});

test('a new limit at the same sequence replaces the cached copy (its revision is higher); an older revision does not', async () => {
  const { cache } = setup();
  await cache.write(view());
  await cache.write(view({ overdraftLimit: 2000n, revision: 7n }));
  assert.equal((await cache.read(accountId))?.overdraftLimit, 2000n);
  await cache.writeMany([view({ overdraftLimit: 1n, revision: 6n })]);
  assert.equal((await cache.read(accountId))?.overdraftLimit, 2000n);
});

test('a copy cached before holds (no posted, no overdraft limit) is a miss, and the next write replaces it', async () => {
  const { inner, cache } = setup();
  // The format before: version = sequence, available = the posted balance.
  await inner.setVersioned(cacheKey(accountId), 4n, { available: '1000', pending: '0', currency: 'USD', ownerId: 'ana', updatedAt: '2025-01-02T00:00:00.000Z' });
  assert.equal(await cache.read(accountId), undefined);
  // The migration starts every row's revision above its sequence.
  await cache.write(view({ pending: 0n, overdraftLimit: 0n, revision: 5n }));
  const fields = await inner.getVersioned(cacheKey(accountId));
  assert.equal(fields?.version, '5');
  assert.equal(fields?.available, '1000', 'the old field is overwritten with the served figure');
  assert.deepEqual(await cache.read(accountId), view({ pending: 0n, overdraftLimit: 0n, revision: 5n }));
});

test('malformed cached fields are a miss, never an error', async () => {
  const { inner, cache } = setup();
  for (const change of [{ posted: 'x' }, { overdraftLimit: '-1' }, { sequence: '' }, { pending: '1.5' }]) {
    const key = cacheKey(accountId);
    await inner.del(key);
    const good = { sequence: '4', posted: '1', pending: '0', overdraftLimit: '0', limitsChangedAt: '', currency: 'USD', ownerId: 'ana', updatedAt: '2025-01-02T00:00:00.000Z' };
    await inner.setVersioned(key, 6n, { ...good, ...change });
    assert.equal(await cache.read(accountId), undefined, JSON.stringify(change));
  }
});
