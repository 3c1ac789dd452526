// The real-mode stack through outages of its dependencies, with real processes stopped and started:
// Redis, RabbitMQ (a private server and node, so the shared ones stay up for the other tests) and
// the account service. Each outage is checked while it lasts (answers, their time, /readyz) and
// after it ends (everything recovers with no restart). See docs/reliability.md, Resilience.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { needsInfra } from '@wallet/testkit';
import { openSse, type SseStream } from '../../services/balance/test/sse.ts';
import { WalletClient, until, type Reply } from '../support/client.ts';
import { startRealStack, type Stack } from '../support/stack.ts';
import { privateRabbit, privateRedis, type PrivateServer } from './support/private-infra.ts';

/** "Fails fast": far below the gateway's 10 s upstream timeout, generous for a loaded machine. */
const FAST_MS = 3000;
/** Sign-ups, logins and token requests per address per window; the test's own setup uses 5. */
const CREDENTIALS_MAX = 15;

async function timed(call: () => Promise<Reply>): Promise<Reply & { ms: number }> {
  const started = performance.now();
  const reply = await call();
  return { ...reply, ms: performance.now() - started };
}

async function readyz(port: string | undefined): Promise<{ status: number; body: { status: string; dependencies: Record<string, { state: string; required: boolean; detail?: string }> } }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: (await response.json()) as never };
}

/** Waits for /readyz to say `ready`; on timeout, says what it said last. */
async function readyAgain(port: string | undefined, what: string): Promise<void> {
  let last: unknown;
  try {
    await until(async () => {
      const { body } = await readyz(port);
      last = body;
      return body.status === 'ready' ? true : undefined;
    }, what, 20_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last /readyz: ${JSON.stringify(last)}`);
  }
}

function assertUnavailable(reply: Reply & { ms: number }, what: string) {
  assert.equal(reply.status, 503, `${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
  assert.equal(reply.body.code, 'dependency_unavailable', what);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
  assert.match(reply.headers.get('retry-after') ?? '', /^\d+$/, `${what}: Retry-After`);
  assert.ok(reply.ms < FAST_MS, `${what} took ${Math.round(reply.ms)} ms`);
}

describe('outages of Redis, RabbitMQ and a service', { ...(await needsInfra()), timeout: 300_000 }, () => {
  let redis: PrivateServer | undefined;
  let rabbit: PrivateServer | undefined;
  let stack: Stack;
  const tag = randomBytes(3).toString('hex');
  let ana: WalletClient;
  let bob: WalletClient;
  let anaAccount: string;
  let bobAccount: string;
  // What each balance must be; every transfer below moves 100 from Ana to Bob.
  const expected = { ana: 10_000n, bob: 0n };

  const balanceIs = async (client: WalletClient, account: string, amount: bigint) => {
    const reply = await client.balance(account);
    return reply.status === 200 && reply.body.available === amount.toString() ? reply : undefined;
  };
  const transfer = async () => {
    const sent = await timed(() => ana.transfer({ fromAccountId: anaAccount, to: { accountId: bobAccount }, amount: '100', currency: 'USD' }));
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    expected.ana -= 100n;
    expected.bob += 100n;
    // The ledger's own balance after it: the projections are compared with these sums.
    assert.equal((sent.body.source as { balanceAfter: string }).balanceAfter, expected.ana.toString());
    return sent;
  };
  const outbox = async () => {
    const { rows } = await stack.infra!.db.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM ledger.outbox');
    return Number(rows[0]!.n);
  };

  before(async () => {
    try {
      [redis, rabbit] = await Promise.all([privateRedis(), privateRabbit()]);
      stack = await startRealStack({ REDIS_URL: redis.url, RABBITMQ_URL: rabbit.url, RATE_LIMIT_CREDENTIALS_MAX: String(CREDENTIALS_MAX) });
    } catch (error) {
      await Promise.all([redis?.destroy(), rabbit?.destroy()]);
      throw error;
    }
    ana = new WalletClient(stack.gatewayUrl);
    bob = new WalletClient(stack.gatewayUrl);
    const operator = new WalletClient(stack.gatewayUrl);
    await ana.signUp(`ana_${tag}`, 'Ana Resilient');
    await bob.signUp(`bob_${tag}`, 'Bob Resilient');
    anaAccount = await ana.openAccount('USD');
    bobAccount = await bob.openAccount('USD');
    assert.equal((await operator.loginClient(stack.operator.id, stack.operator.secret)).status, 200);
    assert.equal((await operator.deposit(anaAccount, expected.ana.toString())).status, 201);
    await transfer();
    await until(() => balanceIs(bob, bobAccount, expected.bob), "Bob's first balance");
  });

  after(async () => {
    await stack?.stop().catch(() => undefined);
    await Promise.all([redis?.destroy(), rabbit?.destroy()]);
  });

  test('Redis down: balances from PostgreSQL, limits in memory, streams woken locally, degraded not unready; back: Redis used again', async () => {
    const probe = new Redis(redis!.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    let stream: SseStream | undefined;
    const posted = (event: { data: string } | undefined) => (JSON.parse(event!.data) as { posted: string }).posted;
    try {
      await redis!.stop();

      // A balance stream opened during the outage: woken by this replica's own changes (no pub/sub).
      stream = await openSse(`${stack.gatewayUrl}/v1/accounts/${bobAccount}/balance/stream`, { authorization: `Bearer ${bob.token}` });
      assert.equal(stream.status, 200, JSON.stringify(stream.problem));
      assert.equal(posted((await stream.waitForEvents(1))[0]), expected.bob.toString());

      // Reads answer from PostgreSQL, quickly, including a change made during the outage.
      const read = await timed(() => bob.balance(bobAccount));
      assert.equal(read.status, 200, JSON.stringify(read.body));
      assert.equal(read.body.available, expected.bob.toString());
      assert.ok(read.ms < FAST_MS, `a balance read took ${Math.round(read.ms)} ms with Redis down`);
      const sent = await transfer();
      assert.ok(sent.ms < FAST_MS, `a transfer took ${Math.round(sent.ms)} ms with Redis down`);
      await until(() => balanceIs(bob, bobAccount, expected.bob), "Bob's balance from PostgreSQL");
      assert.equal(posted((await stream.waitForEvents(2, 15_000))[1]), expected.bob.toString());

      // Rate limits still apply, counted in the gateway's memory (fresh there: the outage began
      // after the setup's sign-ups). A sign-up with no body is refused by the alias service (400)
      // until the gateway's limit refuses it first (429, with the gateway's RateLimit headers).
      const statuses: number[] = [];
      let last: Reply | undefined;
      for (let i = 0; i <= CREDENTIALS_MAX; i++) {
        const attempt = await timed(() => ana.post('/v1/users', {}));
        assert.ok(attempt.ms < FAST_MS, `a sign-up took ${Math.round(attempt.ms)} ms`);
        statuses.push(attempt.status);
        last = attempt;
      }
      assert.ok(statuses.slice(0, -1).every((s) => s === 400), statuses.join(','));
      assert.equal(statuses.at(-1), 429, `the ${CREDENTIALS_MAX + 1}th attempt in the window: ${statuses.join(',')}`);
      assert.equal(last!.headers.get('ratelimit-limit'), String(CREDENTIALS_MAX));

      // Degraded, still in rotation.
      const port = stack.env!.BALANCE_PORT;
      const balanceReady = await readyz(port);
      assert.equal(balanceReady.status, 200);
      assert.equal(balanceReady.body.status, 'degraded');
      assert.deepEqual({ ...balanceReady.body.dependencies.redis, detail: undefined }, { state: 'down', required: false, detail: undefined });
      assert.equal(balanceReady.body.dependencies.database!.state, 'up');
      const gatewayReady = await readyz(stack.env!.GATEWAY_PORT);
      assert.equal(gatewayReady.status, 200);
      assert.equal(gatewayReady.body.dependencies.redis!.state, 'down');

      await redis!.start();
      await readyAgain(port, 'the balance service ready again');
      await readyAgain(stack.env!.GATEWAY_PORT, 'the gateway ready again');
      // The cache is written again (the balances that changed while it was away included), and the
      // gateway counts in Redis again: no process was restarted.
      await probe.connect();
      await until(async () => ((await probe.exists(`${stack.env!.WALLET_NAMESPACE}:balance:${bobAccount}`)) === 1 ? true : undefined), "Bob's balance cached again", 20_000);
      await ana.post('/v1/users', {});
      const counters = await probe.keys(`${stack.env!.WALLET_NAMESPACE}:*rl*`);
      assert.ok(counters.length > 0, 'rate-limit counters in Redis again');
      assert.ok(await balanceIs(bob, bobAccount, expected.bob));
      // The stream opened during the outage goes on.
      await transfer();
      assert.equal(posted((await stream.waitForEvents(3, 15_000))[2]), expected.bob.toString());
    } finally {
      stream?.close();
      probe.disconnect();
    }
  });

  test('RabbitMQ down: transfers succeed into the outbox; back: it drains and balances equal the ledger', async () => {
    await rabbit!.stop();
    const before = await outbox();
    for (let i = 0; i < 5; i++) {
      const sent = await transfer();
      assert.ok(sent.ms < FAST_MS, `a transfer took ${Math.round(sent.ms)} ms with RabbitMQ down`);
    }
    const backlog = await outbox();
    assert.ok(backlog >= before + 5, `the outbox holds the new events (${before} → ${backlog})`);
    // Degraded, not unready: every replica absorbs it the same way.
    const ready = await readyz(stack.env!.TRANSACTION_PORT);
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal(ready.body.status, 'degraded');
    assert.equal(ready.body.dependencies.broker!.state, 'down');
    assert.match(ready.body.dependencies.broker!.detail ?? '', /outbox \(\d+ pending\)/);
    // Reads still answer (from the projection as it was).
    const read = await timed(() => ana.balance(anaAccount));
    assert.equal(read.status, 200);
    assert.ok(read.ms < FAST_MS);

    await rabbit!.start();
    await until(async () => ((await outbox()) === 0 ? true : undefined), 'the outbox to drain', 60_000);
    // Nothing lost, nothing applied twice: the projections equal the ledger's sums exactly.
    await until(() => balanceIs(ana, anaAccount, expected.ana), "Ana's balance after the outage", 60_000);
    await until(() => balanceIs(bob, bobAccount, expected.bob), "Bob's balance after the outage", 60_000);
    await readyAgain(stack.env!.TRANSACTION_PORT, 'the transaction service ready again');
    // Consumers are back: a new transfer reaches the balance service.
    await transfer();
    await until(() => balanceIs(bob, bobAccount, expected.bob), "Bob's balance from a transfer after the outage", 30_000);
  });

  test('account service down: 503 problem+json fast from the gateway and the ledger; back: served again, no restart', async () => {
    await stack.processes!.stopService('account');

    const listed = await timed(() => ana.get('/v1/accounts'));
    assertUnavailable(listed, 'the gateway with the account service down');
    // The ledger needs the account service for an account it has never seen.
    for (let i = 0; i < 6; i++) {
      const unknown = await timed(() => ana.transfer({ fromAccountId: anaAccount, to: { accountId: randomUUID() }, amount: '1', currency: 'USD' }));
      assertUnavailable(unknown, `a transfer to an unknown account (${i + 1}) with the account service down`);
    }
    // What does not need it still works.
    const read = await timed(() => ana.balance(anaAccount));
    assert.equal(read.status, 200);
    const gatewayReady = await readyz(stack.env!.GATEWAY_PORT);
    assert.equal(gatewayReady.status, 200);
    assert.equal(gatewayReady.body.dependencies.account!.state, 'down');

    await stack.processes!.startService('account');
    await until(async () => ((await ana.get('/v1/accounts')).status === 200 ? true : undefined), 'accounts listed again', 20_000);
    // The ledger's breaker closes again by itself: the same request now gets its real answer.
    const answered = await until(async () => {
      const reply = await ana.transfer({ fromAccountId: anaAccount, to: { accountId: randomUUID() }, amount: '1', currency: 'USD' });
      return reply.status === 503 ? undefined : reply;
    }, 'the ledger to reach the account service again', 20_000);
    assert.equal(answered.status, 404, JSON.stringify(answered.body));
    assert.equal(answered.body.code, 'account_not_found');
    await transfer();
    await until(() => balanceIs(bob, bobAccount, expected.bob), "Bob's balance after the account service's return");
  });
});
