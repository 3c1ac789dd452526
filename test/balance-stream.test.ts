// Live balances and read-your-writes end to end, through the gateway, in both run modes: a client
// streams its balance (SSE), a transfer arrives on the stream with its sequence and posted balance, a
// reconnect with Last-Event-ID gets exactly what it missed, and ?minSequence= never answers older.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { needsInfra } from '@wallet/testkit';
import { openSse, type SseStream } from '../services/balance/test/sse.ts';
import { WalletClient, until } from './support/client.ts';
import { startEmbeddedStack, startRealStack, type Stack } from './support/stack.ts';

interface Balance {
  accountId: string;
  posted: string;
  available: string;
  sequence: string;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runStreamFlows(stack: Stack): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const ana = new WalletClient(stack.gatewayUrl);
  const bob = new WalletClient(stack.gatewayUrl);
  const operator = new WalletClient(stack.gatewayUrl);
  await ana.signUp(`ana_${tag}`, 'Ana Pereira');
  await bob.signUp(`bob_${tag}`, 'Bob Marley');
  const anaAccount = await ana.openAccount('USD');
  const bobAccount = await bob.openAccount('USD');
  assert.equal((await operator.loginClient(stack.operator.id, stack.operator.secret)).status, 200);
  assert.equal((await operator.deposit(anaAccount, '10000')).status, 201);

  const opened: SseStream[] = [];
  const stream = async (lastEventId?: string, requestId?: string) => {
    const live = await openSse(`${stack.gatewayUrl}/v1/accounts/${anaAccount}/balance/stream`, {
      authorization: `Bearer ${ana.token}`,
      ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
      ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
    });
    opened.push(live);
    return live;
  };
  const balanceIn = (data: string) => JSON.parse(data) as Balance;
  const transfer = async (amount: string) => {
    const sent = await ana.transfer({ fromAccountId: anaAccount, to: { accountId: bobAccount }, amount, currency: 'USD' });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    return sent.body.source as { balanceAfter: string; sequence: string };
  };

  try {
    // Read-your-writes after the deposit: the account's first entry, whoever answers.
    const afterDeposit = await ana.get(`/v1/accounts/${anaAccount}/balance?minSequence=1`);
    assert.equal(afterDeposit.status, 200, JSON.stringify(afterDeposit.body));
    assert.ok(['projection', 'ledger'].includes(afterDeposit.headers.get('balance-source') ?? ''));
    assert.ok(BigInt(afterDeposit.body.sequence as string) >= 1n);
    assert.equal(afterDeposit.body.posted, '10000');

    // The stream: the balance first (id = its sequence), the request id kept, counted once by the rate limiter.
    const before = Number((await ana.balance(anaAccount)).headers.get('ratelimit-remaining'));
    const requestId = `stream-${randomUUID()}`;
    const live = await stream(undefined, requestId);
    assert.equal(live.status, 200, JSON.stringify(live.problem));
    assert.match(live.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(live.headers.get('x-request-id'), requestId);
    assert.equal(Number(live.headers.get('ratelimit-remaining')), before - 1);
    const [snapshot] = await live.waitForEvents(1);
    assert.equal(snapshot?.event, 'balance');
    assert.equal(snapshot?.id, '1');
    assert.deepEqual([balanceIn(snapshot!.data).posted, balanceIn(snapshot!.data).sequence], ['10000', '1']);

    // Heartbeats keep it open; one request for the rate limiter however long it lasts (unless a new window began).
    await live.waitForComments(stack.mode === 'real' ? 3 : 1);
    const afterwards = Number((await ana.balance(anaAccount)).headers.get('ratelimit-remaining'));
    assert.ok(afterwards === before - 2 || afterwards > before, `remaining ${before} → ${afterwards}`);

    // A transfer arrives on the stream with its sequence and the posted balance after it.
    const first = await transfer('2500');
    assert.deepEqual(first, { accountId: anaAccount, balanceAfter: '7500', sequence: '2' });
    const [, change] = await live.waitForEvents(2);
    assert.equal(change?.id, '2');
    assert.deepEqual([balanceIn(change!.data).posted, balanceIn(change!.data).available, balanceIn(change!.data).sequence], ['7500', '7500', '2']);

    // Read-your-writes after the transfer: at its sequence or later, never older.
    const mine = await ana.get(`/v1/accounts/${anaAccount}/balance?minSequence=${first.sequence}`);
    assert.equal(mine.status, 200);
    assert.ok(BigInt(mine.body.sequence as string) >= 2n);
    assert.equal(mine.body.posted, '7500');
    const invalid = await ana.get(`/v1/accounts/${anaAccount}/balance?minSequence=12345678901234567890`);
    assert.deepEqual([invalid.status, invalid.body.code], [400, 'validation_failed']);

    // Away for two transfers; back with Last-Event-ID: exactly those two, then live ones.
    live.close();
    await transfer('100');
    const third = await transfer('200');
    assert.equal(third.sequence, '4');
    const resumed = await stream('2');
    assert.equal(resumed.status, 200);
    const missed = await resumed.waitForEvents(2);
    assert.deepEqual(missed.map((e) => e.id), ['3', '4']);
    assert.deepEqual(missed.map((e) => balanceIn(e.data).posted), ['7400', '7200']);
    await transfer('300');
    const all = await resumed.waitForEvents(3);
    assert.deepEqual(all.map((e) => [e.id, balanceIn(e.data).posted]), [['3', '7400'], ['4', '7200'], ['5', '6900']]);
    await pause(300);
    assert.equal(resumed.events.length, 3, 'none repeated');

    // Someone else's stream is someone else's business.
    const foreign = await openSse(`${stack.gatewayUrl}/v1/accounts/${anaAccount}/balance/stream`, { authorization: `Bearer ${bob.token}` });
    assert.deepEqual([foreign.status, foreign.problem?.code], [404, 'account_not_found']);
    const anonymous = await openSse(`${stack.gatewayUrl}/v1/accounts/${anaAccount}/balance/stream`, {});
    assert.equal(anonymous.status, 401);

    // Open streams do not take the gateway's connections to the services (2 per service here).
    const more = await Promise.all([stream(), stream(), stream()]);
    assert.deepEqual(more.map((s) => s.status), [200, 200, 200]);
    const meanwhile = await ana.balance(anaAccount);
    assert.equal(meanwhile.status, 200);
    assert.equal(meanwhile.body.sequence, '5');
  } finally {
    for (const live of opened) live.close();
  }

  if (stack.env?.BALANCE_PORT) {
    // Clients that left cost the balance service nothing: no stream open, nobody following.
    const metrics = `http://127.0.0.1:${stack.env.BALANCE_PORT}/metrics`;
    const value = async (name: string) => {
      const text = await (await fetch(metrics)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
      return line === undefined ? undefined : Number(line.split(' ').at(-1));
    };
    await until(async () => ((await value('balance_streams_open')) === 0 ? true : undefined), 'the streams to be released', 5000);
    assert.equal(await value('balance_change_followers'), 0);
  }
}

/** Stopping the whole stack ends a stream that is still open, and does not wait for it. */
async function stopWithOpenStream(stack: Stack): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const carol = new WalletClient(stack.gatewayUrl);
  await carol.signUp(`carol_${tag}`, 'Carol Smith');
  const account = await carol.openAccount('USD');
  const live = await until(async () => {
    const opened = await openSse(`${stack.gatewayUrl}/v1/accounts/${account}/balance/stream`, { authorization: `Bearer ${carol.token}` });
    return opened.status === 200 ? opened : undefined; // 404 until the account's opening is projected
  }, 'the stream to open');
  await live.waitForEvents(1);
  const started = Date.now();
  await stack.stop();
  await live.ended;
  assert.ok(Date.now() - started < 8000, `stopped in ${Date.now() - started} ms`);
}

describe('balance streams through the gateway, real mode: five processes on PostgreSQL, RabbitMQ and Redis', await needsInfra(), () => {
  let stack: Stack;
  before(async () => {
    stack = await startRealStack({ BALANCE_STREAM_HEARTBEAT_MS: '200', UPSTREAM_CONNECTIONS_MAX: '2' });
  });
  after(async () => stack?.stop());
  test('a stream, a transfer on it, a resume with Last-Event-ID, read-your-writes with minSequence', async () => runStreamFlows(stack));
  test('stopping the services ends open streams', async () => {
    const stopping = stack;
    stack = undefined as unknown as Stack;
    await stopWithOpenStream(stopping);
  });
});

describe('balance streams through the gateway, embedded mode: one process on PGlite', () => {
  let stack: Stack;
  before(async () => {
    stack = await startEmbeddedStack();
  });
  after(async () => stack?.stop());
  test('a stream, a transfer on it, a resume with Last-Event-ID, read-your-writes with minSequence', async () => runStreamFlows(stack));
  test('stopping the services ends open streams', async () => {
    const stopping = stack;
    stack = undefined as unknown as Stack;
    await stopWithOpenStream(stopping);
  });
});
