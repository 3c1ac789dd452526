// The caches' publish/subscribe: in memory (embedded mode), and on the real Redis when it answers
// (a fresh namespace per run), including a subscriber connection that is lost and comes back.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { reachable } from '@wallet/testkit';
import { createMemoryCache, createRedisCache, type Cache, type PubSub } from './cache.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const silent = { warn: () => undefined };


/** The next message on `channel`, or a failure after `ms`. */
function nextMessages(cache: PubSub, channel: string, count: number, ms = 3000): Promise<{ messages: string[]; stop: () => void; resyncs: () => number }> {
  return new Promise((resolve, reject) => {
    const messages: string[] = [];
    let resyncs = 0;
    const timer = setTimeout(() => reject(new Error(`no ${count} messages on ${channel} within ${ms} ms (got ${messages.length})`)), ms);
    let stop: () => void = () => undefined;
    void cache
      .subscribe(channel, {
        message: (message) => {
          messages.push(message);
          if (messages.length === count) {
            clearTimeout(timer);
            resolve({ messages, stop, resyncs: () => resyncs });
          }
        },
        resync: () => resyncs++,
      })
      .then((end) => (stop = end));
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function contract(cache: Cache & PubSub) {
  const received: string[] = [];
  const other: string[] = [];
  const stopA = await cache.subscribe('changes', { message: (m) => received.push(`a:${m}`) });
  const stopB = await cache.subscribe('changes', { message: (m) => received.push(`b:${m}`) });
  const stopOther = await cache.subscribe('other', { message: (m) => other.push(m) });
  await cache.publish('changes', 'one');
  await cache.publish('changes', 'two');
  for (let i = 0; i < 100 && received.length < 4; i++) await pause(10);
  // Every listener, every message, in publishing order; nothing on other channels.
  assert.deepEqual(received.filter((m) => m.startsWith('a:')), ['a:one', 'a:two']);
  assert.deepEqual(received.filter((m) => m.startsWith('b:')), ['b:one', 'b:two']);
  assert.deepEqual(other, []);

  stopA();
  stopA(); // idempotent
  await cache.publish('changes', 'three');
  for (let i = 0; i < 100 && !received.includes('b:three'); i++) await pause(10);
  assert.ok(received.includes('b:three'));
  assert.ok(!received.includes('a:three'), 'an ended subscription receives nothing');
  stopB();
  stopOther();
}

describe('pub/sub in memory', () => {
  test('delivers to every listener of a channel, in order, after the publisher returns', async () => {
    const cache = createMemoryCache();
    await contract(cache);
    let delivered = false;
    await cache.subscribe('c', { message: () => (delivered = true) });
    const published = cache.publish('c', 'x');
    assert.equal(delivered, false, 'not inside the publish call');
    await published;
    await pause(0);
    assert.equal(delivered, true);
  });

  test('a listener that throws does not keep the message from the others', async () => {
    const cache = createMemoryCache();
    const got: string[] = [];
    await cache.subscribe('c', {
      message: () => {
        throw new Error('boom');
      },
    });
    await cache.subscribe('c', { message: (m) => got.push(m) });
    await cache.publish('c', 'x');
    await pause(0);
    assert.deepEqual(got, ['x']);
  });
});

describe('pub/sub on Redis', { skip: (await reachable(6379)) ? false : process.env.WALLET_REQUIRE_SERVICES === '1' ? undefined : 'Redis not reachable' }, () => {
  const namespace = `test_${randomBytes(4).toString('hex')}`;
  const caches: Cache[] = [];
  const open = () => {
    const cache = createRedisCache(redisUrl, silent, namespace);
    caches.push(cache);
    return cache;
  };
  after(async () => {
    for (const cache of caches) await cache.close();
  });

  test('the same contract across two connections (two processes)', async () => {
    const publisher = open();
    const subscriber = open();
    // The subscriber's contract run publishes through itself; then across the two.
    await contract(subscriber);
    const waiting = nextMessages(subscriber, 'cross', 2);
    await pause(200); // the first subscribe opens the subscriber connection
    await publisher.publish('cross', 'hello');
    await publisher.publish('cross', 'again');
    const { messages, stop } = await waiting;
    assert.deepEqual(messages, ['hello', 'again']);
    stop();
  });

  test('channels are namespaced: another namespace does not hear them', async () => {
    const ours = open();
    const theirs = createRedisCache(redisUrl, silent, `${namespace}_other`);
    caches.push(theirs);
    const heard: string[] = [];
    await theirs.subscribe('ns', { message: (m) => heard.push(m) });
    const waiting = nextMessages(ours, 'ns', 1);
    await pause(200);
    await ours.publish('ns', 'mine');
    await waiting;
    await pause(50);
    assert.deepEqual(heard, []);
    const raw = new Redis(redisUrl);
    try {
      const channels = await raw.pubsub('CHANNELS', `${namespace}:*`);
      assert.ok(channels.includes(`${namespace}:ns`), `channels: ${channels.join(', ')}`);
    } finally {
      raw.disconnect();
    }
  });

  test('after the subscriber connection is lost and back, the subscription is made again and listeners are told to resync', async () => {
    const publisher = open();
    const subscriber = open();
    let resyncs = 0;
    const got: string[] = [];
    const stop = await subscriber.subscribe('lost', { message: (m) => got.push(m), resync: () => resyncs++ });
    await pause(200);
    const resyncsBefore = resyncs; // the first connect tells them once
    // Kill the subscriber's connection from the server side, as a Redis restart would.
    const raw = new Redis(redisUrl);
    try {
      const clients = (await raw.client('LIST')) as string;
      const ids = clients
        .split('\n')
        .filter((line) => line.includes(` name=${namespace}:subscriber `))
        .map((line) => /\bid=(\d+)/.exec(line)?.[1])
        .filter((id): id is string => id !== undefined);
      assert.ok(ids.length > 0, 'the subscriber connection is listed by its name');
      for (const id of ids) await raw.client('KILL', 'ID', id);
    } finally {
      raw.disconnect();
    }
    for (let i = 0; i < 300 && resyncs === resyncsBefore; i++) await pause(10);
    assert.equal(resyncs, resyncsBefore + 1, 'told once the subscription is back');
    await publisher.publish('lost', 'after');
    for (let i = 0; i < 200 && got.length === 0; i++) await pause(10);
    assert.deepEqual(got, ['after']);
    stop();
  });
});
