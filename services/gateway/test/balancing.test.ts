// The gateway in front of several instances of one service (ACCOUNT_URL as a list): requests spread
// over them, a dead or hung instance is skipped once its breaker opens, a failed connection is tried
// once elsewhere, a write that reached an instance is never sent twice, and with every instance down
// the answer is 503 at once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Env, RunningService } from '@wallet/kit';
import { createTestInfra, needsInfra, startTestIssuer, type TestInfra, type TestIssuer } from '@wallet/testkit';
import { createGatewayService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { closedPortUrl, startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';

/** A TCP server that accepts connections and then `onData`: holds them (hung) or resets them. */
async function rawServer(onData: 'hold' | 'reset'): Promise<{ url: string; received: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let received = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {
      received++;
      if (onData === 'reset') socket.resetAndDestroy();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('gateway: balancing over instances', { concurrency: false, ...(await needsInfra()) }, () => {
  let infra: TestInfra;
  let issuer: TestIssuer;
  let live: [FakeUpstream, FakeUpstream];
  let others: FakeUpstream;
  const running: RunningService[] = [];
  let auth: { authorization: string };

  const startGateway = async (accountUrls: string[], overrides: Env = {}) => {
    const service = await createGatewayService(
      loadConfig({
        ...infra.env,
        ...issuer.env,
        JWKS_URL: `${issuer.url}/.well-known/jwks.json`,
        ALIAS_URL: others.url,
        TRANSACTION_URL: others.url,
        BALANCE_URL: others.url,
        ACCOUNT_URL: accountUrls.join(','),
        UPSTREAM_TIMEOUT_MS: '1500',
        RATE_LIMIT_CALLER_MAX: '10000',
        ...overrides,
      }),
      infra,
    );
    running.push(service);
    await service.app.ready();
    return service.app;
  };

  before(async () => {
    infra = await createTestInfra();
    issuer = await startTestIssuer();
    live = [await startFakeUpstream('account-a'), await startFakeUpstream('account-b')];
    others = await startFakeUpstream('others');
    auth = { authorization: `Bearer ${await issuer.userToken(randomUUID())}` };
  });
  after(async () => {
    for (const service of running) await service.stop();
    await Promise.all([...(live ?? []), others].map((upstream) => upstream?.close()));
    await issuer?.close();
    await infra?.destroy();
  });

  const forwarded = (upstream: FakeUpstream) => upstream.forwarded().length;

  test('requests take turns over the instances', async () => {
    const app = await startGateway(live.map((u) => u.url));
    const before = live.map(forwarded);
    for (let i = 0; i < 10; i++) assert.equal((await app.inject({ method: 'GET', url: '/v1/accounts', headers: auth })).statusCode, 200);
    assert.deepEqual(
      live.map((u, i) => forwarded(u) - before[i]!),
      [5, 5],
    );
  });

  test('an instance refusing connections is skipped; reads and refused writes go to another, once', async () => {
    const dead = await closedPortUrl();
    const app = await startGateway([dead, live[0].url]);
    const before = forwarded(live[0]);
    for (let i = 0; i < 6; i++) {
      const read = await app.inject({ method: 'GET', url: '/v1/accounts', headers: auth });
      assert.equal(read.statusCode, 200, read.body);
      const marker = randomUUID();
      const write = await app.inject({ method: 'POST', url: '/v1/accounts', headers: { ...auth, 'content-type': 'application/json' }, payload: { marker } });
      assert.equal(write.statusCode, 200, write.body);
      assert.equal(live[0].forwarded().filter((r) => r.body.includes(marker)).length, 1, 'the write reached one instance once');
    }
    assert.equal(forwarded(live[0]) - before, 12);
  });

  test('a hung instance is skipped once its breaker opens: a few 504s, then every request answered', async () => {
    const hung = await rawServer('hold');
    try {
      const app = await startGateway([hung.url, live[1].url], { UPSTREAM_TIMEOUT_MS: '300' });
      const statuses: number[] = [];
      for (let i = 0; i < 16; i++) statuses.push((await app.inject({ method: 'GET', url: '/v1/accounts', headers: auth })).statusCode);
      // The breaker opens after 3 timeouts (volume threshold); a timed-out read is not retried.
      assert.ok(statuses.filter((s) => s === 504).length <= 3, statuses.join(' '));
      assert.deepEqual(statuses.slice(-8), Array(8).fill(200), statuses.join(' '));
      assert.ok(hung.received() <= 3);
    } finally {
      await hung.close();
    }
  });

  test('a write whose bytes reached an instance is not sent again', async () => {
    const reset = await rawServer('reset');
    try {
      const app = await startGateway([reset.url, live[1].url]);
      const marker = randomUUID();
      const statuses: number[] = [];
      for (let i = 0; i < 2; i++) {
        const write = await app.inject({ method: 'POST', url: '/v1/accounts', headers: { ...auth, 'content-type': 'application/json' }, payload: { marker: `${marker}-${i}` } });
        statuses.push(write.statusCode);
      }
      // One of the two went to the resetting instance first (they take turns): 503, not re-sent.
      assert.equal(reset.received(), 1);
      assert.deepEqual([...statuses].sort(), [200, 503]);
      assert.equal(live[1].forwarded().filter((r) => r.body.includes(marker)).length, 1);
    } finally {
      await reset.close();
    }
  });

  test('every instance down: 503 dependency_unavailable with Retry-After, at once while the breakers are open', async () => {
    const hung = await rawServer('hold');
    try {
      const app = await startGateway([hung.url], { UPSTREAM_TIMEOUT_MS: '2000' });
      for (let i = 0; i < 3; i++) assert.equal((await app.inject({ method: 'GET', url: '/v1/accounts', headers: auth })).statusCode, 504);
      const started = Date.now();
      const response = await app.inject({ method: 'GET', url: '/v1/accounts', headers: auth });
      assert.equal(response.statusCode, 503);
      assert.equal(response.json().code, 'dependency_unavailable');
      assert.ok(Number(response.headers['retry-after']) >= 1);
      assert.ok(Date.now() - started < 1000, 'without waiting for the upstream timeout');
      assert.equal(hung.received(), 3);

      const down = await startGateway([await closedPortUrl(), await closedPortUrl()]);
      for (let i = 0; i < 3; i++) {
        const refused = await down.inject({ method: 'POST', url: '/v1/accounts', headers: auth, payload: {} });
        assert.equal(refused.statusCode, 503);
        assert.equal(refused.json().code, 'dependency_unavailable');
        assert.ok(refused.headers['retry-after']);
      }
    } finally {
      await hung.close();
    }
  });
});
