// The kit's token buckets behind alias lookups: atomic in Redis across clients (replicas), the same
// arithmetic in memory, and the fall-back to memory while Redis is unreachable.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createMemoryCache, createMemoryTokenBuckets, createRedisCache, createRedisTokenBuckets, tokenBucketsOf, type Cache, type TokenBuckets } from '@wallet/kit';
import { createTestInfra, freePorts, needsInfra, type TestInfra } from '@wallet/testkit';

const pix = { capacity: 100, refillPerMinute: 2 };
const silent = { warn: () => undefined };

async function allowedOf(buckets: TokenBuckets[], key: string, requests: number, cost: number, rule = pix): Promise<number> {
  const takes = await Promise.all(Array.from({ length: requests }, (_, i) => buckets[i % buckets.length]!.take(key, cost, rule)));
  return takes.filter((t) => t.allowed).length;
}

describe('token buckets in memory', () => {
  test('start full, take atomically, refill continuously, cap refunds at the capacity', async () => {
    let now = 1_000_000;
    const buckets = createMemoryTokenBuckets({ now: () => now });
    assert.equal(await allowedOf([buckets], 'a', 30, 20), 5);
    const refused = await buckets.take('a', 20, pix);
    assert.deepEqual(refused, { allowed: false, remaining: 0, retryAfterMs: 600_000 }, '20 tokens at 2 a minute');
    now += 30_000;
    assert.deepEqual(await buckets.take('a', 1, pix), { allowed: true, remaining: 0, retryAfterMs: 0 });
    assert.deepEqual(await buckets.take('a', -1000, pix), { allowed: true, remaining: 100, retryAfterMs: 0 }, 'a refund stops at the capacity');
    now += 3_600_000;
    assert.equal((await buckets.take('a', 0, pix)).remaining, 100, 'never above the capacity');
    assert.equal((await buckets.take('b', 0, pix)).remaining, 100, 'each key its own bucket');
    await assert.rejects(buckets.take('a', 1, { capacity: 10, refillPerMinute: 0 }));
  });

  test('a clock that goes back earns nothing and takes nothing away', async () => {
    let now = 5_000_000;
    const buckets = createMemoryTokenBuckets({ now: () => now });
    await buckets.take('k', 50, pix);
    now -= 60_000;
    assert.equal((await buckets.take('k', 0, pix)).remaining, 50);
    now += 90_000; // 30 s after the first take
    assert.equal((await buckets.take('k', 0, pix)).remaining, 51);
  });

  test('bounded: the least recently used bucket goes first (and comes back full)', async () => {
    const buckets = createMemoryTokenBuckets({ keysMax: 2 });
    await buckets.take('x', 100, pix);
    await buckets.take('y', 100, pix);
    await buckets.take('x', 0, pix); // x used last
    await buckets.take('z', 100, pix); // evicts y
    assert.equal((await buckets.take('x', 0, pix)).remaining, 0);
    assert.equal((await buckets.take('y', 0, pix)).remaining, 100);
  });

  test('embedded mode (a memory cache) gets memory buckets', async () => {
    const buckets = tokenBucketsOf(createMemoryCache(), silent);
    assert.equal(await allowedOf([buckets], 'e', 10, 20), 5);
  });
});

describe('token buckets in Redis', await needsInfra(), () => {
  let infra: TestInfra;
  let second: NonNullable<Cache['redis']>;
  before(async () => {
    infra = await createTestInfra();
    second = infra.cache.redis!.duplicate(); // another connection, as another replica has
  });
  after(async () => {
    second?.disconnect();
    await infra?.destroy();
  });

  test('many concurrent takes on two clients (two replicas) share one bucket exactly', async () => {
    const replicas = [createRedisTokenBuckets(infra.cache.redis!, { log: silent }), createRedisTokenBuckets(second, { log: silent })];
    const key = `race:${randomUUID()}`;
    assert.equal(await allowedOf(replicas, key, 60, 20), 5);
    const refused = await replicas[0]!.take(key, 20, pix);
    assert.equal(refused.allowed, false);
    assert.ok(refused.retryAfterMs > 590_000 && refused.retryAfterMs <= 600_000, String(refused.retryAfterMs));
    // Refunds come back to the same bucket, capped at the capacity.
    assert.equal((await replicas[1]!.take(key, -19, pix)).remaining >= 19, true);
    assert.equal((await replicas[0]!.take(key, -1000, pix)).remaining, 100);
  });

  test('refill follows Redis time; the key expires once the bucket would be full again', async () => {
    const buckets = createRedisTokenBuckets(infra.cache.redis!, { log: silent });
    const fast = { capacity: 10, refillPerMinute: 6000 }; // 100 a second
    const key = `refill:${randomUUID()}`;
    assert.equal((await buckets.take(key, 10, fast)).allowed, true);
    const empty = await buckets.take(key, 10, fast);
    assert.equal(empty.allowed, false);
    assert.ok(empty.retryAfterMs > 0 && empty.retryAfterMs <= 100, String(empty.retryAfterMs));
    const ttl = await infra.cache.redis!.pttl(`bucket:${key}`);
    assert.ok(ttl > 1000 && ttl <= 1100, `about 100 ms to full + 1 s: ${ttl}`);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const later = await buckets.take(key, 5, fast);
    assert.equal(later.allowed, true, JSON.stringify(later));
  });

  test('while Redis is unreachable the buckets live in memory, per replica, with one warning', async () => {
    const [port] = await freePorts(1);
    const deadCache = createRedisCache(`redis://127.0.0.1:${port}`, silent, 'nowhere');
    const dead = deadCache.redis!;
    const warnings: string[] = [];
    const buckets = createRedisTokenBuckets(dead, { log: { warn: (_obj, msg) => warnings.push(msg) }, timeoutMs: 300 });
    try {
      assert.equal(await allowedOf([buckets], 'down', 30, 20), 5, 'still rationed, still atomic');
      assert.equal((await buckets.take('down', 20, pix)).allowed, false);
      assert.equal(warnings.length, 1, warnings.join('; '));
      assert.match(warnings[0]!, /memory/);
    } finally {
      await deadCache.close();
    }
  });
});
