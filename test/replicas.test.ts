// Two processes of every service and two gateways on one machine, against the shared PostgreSQL,
// RabbitMQ and Redis: the end-to-end flows pass through both gateways, every replica serves requests,
// a replica of each service killed with SIGKILL is skipped without a failed request, and serves again
// once restarted. With every instance of a service down, the gateway answers 503 at once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { needsInfra } from '@wallet/testkit';
import { openSse } from '../services/balance/test/sse.ts';
import type { ServiceName } from '@wallet/launcher';
import { WalletClient, until } from './support/client.ts';
import { runLedgerFlows } from './support/ledger-flows.ts';
import { runSeedFlows } from './support/seed-flows.ts';
import { startRealStack, type Stack } from './support/stack.ts';

const services: ServiceName[] = ['alias', 'account', 'transaction', 'balance'];

/** Requests a process answered, from its own /metrics (health and metrics routes are not counted). */
async function served(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^http_request_duration_seconds_count\{[^}]*\} (\S+)$/gm)) total += Number(match[1]);
  return total;
}

async function streamsOpen(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return Number(/^balance_streams_open(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? 0);
}

/** Every projected balance equals the ledger's, and the books sum to zero. */
async function balancesEqualLedger(stack: Stack): Promise<void> {
  const db = stack.infra!.db;
  const ledger = await db.query<{ id: string; balance: bigint; sequence: bigint }>('SELECT id, balance, sequence FROM ledger.accounts');
  assert.ok(ledger.rows.length > 0);
  for (const account of ledger.rows) {
    await until(async () => {
      const { rows } = await db.query<{ posted: bigint; sequence: bigint }>('SELECT available AS posted, sequence FROM balance.balances WHERE account_id = $1', [account.id]);
      return rows[0]?.posted === account.balance && rows[0]?.sequence === account.sequence ? true : undefined;
    }, `the projection of ${account.id} to reach the ledger`, 30_000);
  }
  const total = await db.query<{ total: bigint }>('SELECT sum(available)::bigint AS total FROM balance.balances');
  assert.equal(total.rows[0]!.total, 0n);
}

/** Reads on every service and transfers, through one gateway; returns the statuses that were not a success. */
async function traffic(gatewayUrl: string, operator: { id: string; secret: string }, rounds: number): Promise<number[]> {
  const tag = randomBytes(3).toString('hex');
  const ana = new WalletClient(gatewayUrl);
  const bob = new WalletClient(gatewayUrl);
  const admin = new WalletClient(gatewayUrl);
  await ana.signUp(`tra_${tag}`, 'Ana Traffic');
  await bob.signUp(`trb_${tag}`, 'Bob Traffic');
  const from = await ana.openAccount('USD');
  const to = await bob.openAccount('USD');
  assert.equal((await admin.loginClient(operator.id, operator.secret)).status, 200);
  assert.equal((await admin.deposit(from, '100000')).status, 201);
  await until(async () => ((await ana.balance(from)).status === 200 ? true : undefined), 'the balance service to learn of the account');
  const failures: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const replies = await Promise.all([
      ana.get('/v1/me'), // alias
      ana.get(`/v1/accounts/${from}`), // account
      ana.get(`/v1/transfers?accountId=${from}`), // transaction
      ana.balance(from), // balance
      ana.transfer({ fromAccountId: from, to: { accountId: to }, amount: '1', currency: 'USD' }),
    ]);
    for (const reply of replies) if (reply.status >= 300) failures.push(reply.status);
  }
  return failures;
}

describe('replicas: two of every service behind two gateways', await needsInfra(), () => {
  let stack: Stack;
  let gateways: [Stack, Stack];
  before(async () => {
    stack = await startRealStack({}, { replicas: 2, readyTimeoutMs: 90_000 });
    const urls = stack.processes!.gatewayUrls;
    assert.equal(urls.length, 2);
    gateways = [
      { ...stack, gatewayUrl: urls[0]! },
      { ...stack, gatewayUrl: urls[1]! },
    ];
  });
  after(async () => {
    await stack?.stop();
  });

  test('the flows pass through both gateways and every replica serves requests', async () => {
    // The seed flows expect a fresh settlement account, so they run once.
    await runSeedFlows(gateways[0]);
    await runLedgerFlows(gateways[1]);
    assert.deepEqual(await traffic(gateways[0].gatewayUrl, stack.operator, 6), []);
    assert.deepEqual(await traffic(gateways[1].gatewayUrl, stack.operator, 6), []);
    for (const name of [...services, 'gateway' as const]) {
      const counts = await Promise.all(stack.processes!.urls(name).map(served));
      for (const [replica, count] of counts.entries()) assert.ok(count > 0, `${name} replica ${replica} served requests (${count})`);
    }
    await balancesEqualLedger(stack);
  });

  test('balance streams through a gateway go to both balance replicas, and each sees a transfer applied by either', async () => {
    const tag = randomBytes(3).toString('hex');
    const ana = new WalletClient(gateways[0].gatewayUrl);
    const bob = new WalletClient(gateways[0].gatewayUrl);
    const admin = new WalletClient(gateways[0].gatewayUrl);
    await ana.signUp(`sse_${tag}`, 'Ana Stream');
    await bob.signUp(`ssb_${tag}`, 'Bob Stream');
    const from = await ana.openAccount('USD');
    const to = await bob.openAccount('USD');
    assert.equal((await admin.loginClient(stack.operator.id, stack.operator.secret)).status, 200);
    assert.equal((await admin.deposit(from, '5000')).status, 201);
    await until(async () => ((await ana.balance(from)).body.posted === '5000' ? true : undefined), 'the deposit in the balance');

    // An open stream is a request in flight, so the second one goes to the other replica.
    const streams = [];
    for (let i = 0; i < 2; i++) {
      const live = await openSse(`${gateways[0].gatewayUrl}/v1/accounts/${from}/balance/stream`, { authorization: `Bearer ${ana.token}` });
      assert.equal(live.status, 200);
      await live.waitForEvents(1);
      streams.push(live);
    }
    try {
      assert.deepEqual(await Promise.all(stack.processes!.urls('balance').map(streamsOpen)), [1, 1]);
      const sent = await ana.transfer({ fromAccountId: from, to: { accountId: to }, amount: '700', currency: 'USD' });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      for (const live of streams) {
        const [, change] = await live.waitForEvents(2);
        assert.equal((JSON.parse(change!.data) as { posted: string }).posted, '4300');
      }
    } finally {
      for (const live of streams) live.close();
    }
  });

  test('a killed replica of each service is skipped, and serves again once restarted', async () => {
    const processes = stack.processes!;
    // Replica 1 here; the next test kills replica 0 of the services the others call.
    await Promise.all(services.map((name) => processes.stopService(name, 'SIGKILL', 1)));

    // Reads and writes on every service, through both gateways: none fails.
    assert.deepEqual(await traffic(gateways[0].gatewayUrl, stack.operator, 10), []);
    assert.deepEqual(await traffic(gateways[1].gatewayUrl, stack.operator, 10), []);
    await runLedgerFlows(gateways[0]);
    await balancesEqualLedger(stack);

    await Promise.all(services.map((name) => processes.startService(name, {}, 1)));
    for (const name of services) {
      const url = processes.urls(name)[1]!;
      // The breaker half-opens (UPSTREAM_BREAKER_RESET_MS, 2 s) and lets requests through again.
      await until(async () => {
        assert.deepEqual(await traffic(gateways[0].gatewayUrl, stack.operator, 2), []);
        return (await served(url)) > 0 ? true : undefined;
      }, `${name} replica 1 to serve again`, 30_000);
    }
    await balancesEqualLedger(stack);
  });

  test("the first replica of account and transaction killed: the services' own calls go to the other", async () => {
    const processes = stack.processes!;
    const killed = ['account', 'transaction'] as const;
    await Promise.all(killed.map((name) => processes.stopService(name, 'SIGKILL', 0)));
    // The transaction service reads accounts from the account service (statements, holds, new
    // accounts) and the balance service reads the ledger: both now reach replica 1 only.
    assert.deepEqual(await traffic(gateways[0].gatewayUrl, stack.operator, 10), []);
    // A first deposit in a new currency: the ledger asks the account service for the currency's
    // settlement account (PUT /internal/settlement-accounts/CHF), which only replica 1 can answer.
    const owner = new WalletClient(gateways[1].gatewayUrl);
    await owner.signUp(`chf_${randomBytes(3).toString('hex')}`, 'Chris Franc');
    const francs = await owner.openAccount('CHF');
    const admin = new WalletClient(gateways[1].gatewayUrl);
    assert.equal((await admin.loginClient(stack.operator.id, stack.operator.secret)).status, 200);
    await until(async () => ((await owner.balance(francs)).status === 200 ? true : undefined), 'the balance service to learn of the CHF account');
    const deposit = await admin.deposit(francs, '5000', 'CHF');
    assert.equal(deposit.status, 201, JSON.stringify(deposit.body));
    await runLedgerFlows(gateways[1]);
    await balancesEqualLedger(stack);
    await Promise.all(killed.map((name) => processes.startService(name, {}, 0)));
    for (const name of killed) {
      const url = processes.urls(name)[0]!;
      await until(async () => {
        assert.deepEqual(await traffic(gateways[0].gatewayUrl, stack.operator, 2), []);
        return (await served(url)) > 0 ? true : undefined;
      }, `${name} replica 0 to serve again`, 30_000);
    }
  });

  test('with every instance of a service down, the gateway answers 503 at once', async () => {
    const processes = stack.processes!;
    const client = new WalletClient(gateways[0].gatewayUrl);
    await client.signUp(`down_${randomBytes(3).toString('hex')}`, 'Dee Down');
    await Promise.all([0, 1].map((replica) => processes.stopService('account', 'SIGKILL', replica)));
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const reply = await client.get('/v1/accounts');
      assert.equal(reply.status, 503);
      assert.equal(reply.body.code, 'dependency_unavailable');
      assert.ok(Number(reply.headers.get('retry-after')) >= 1);
      assert.ok(Date.now() - started < 2000, 'fails fast');
    }
    // The other services still answer.
    assert.equal((await client.get('/v1/me')).status, 200);
  });
});
