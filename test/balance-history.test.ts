// Balance history and balance alerts end to end, through the gateway, in both run modes: the balance
// service's past balances (?at=, /balance/history) agree with the ledger's statement, and an alert
// fires once per crossing (real mode: read from RabbitMQ as a notification service would).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createRabbitBus, envelope, type EventEnvelope, type RabbitBus } from '@wallet/kit';
import { eventTypes, type BalanceAlertTriggered } from '@wallet/contracts';
import { needsInfra, rabbitmqUrl } from '@wallet/testkit';
import { WalletClient, until } from './support/client.ts';
import { startEmbeddedStack, startRealStack, type Stack } from './support/stack.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const key = () => ({ 'idempotency-key': randomUUID() });
const DAY = 86_400_000;

interface Scenario {
  ana: WalletClient;
  operator: WalletClient;
  account: string;
  bobAccount: string;
}

async function scenario(stack: Stack): Promise<Scenario> {
  const tag = randomBytes(3).toString('hex');
  const ana = new WalletClient(stack.gatewayUrl);
  const bob = new WalletClient(stack.gatewayUrl);
  const operator = new WalletClient(stack.gatewayUrl);
  await ana.signUp(`hana_${tag}`, 'Hana Lee');
  await bob.signUp(`hbob_${tag}`, 'Bob Stone');
  const account = await ana.openAccount('USD');
  const bobAccount = await bob.openAccount('USD');
  assert.equal((await operator.loginClient(stack.operator.id, stack.operator.secret)).status, 200);
  return { ana, operator, account, bobAccount };
}

/** The moment after the step just answered, strictly between its entries and the next step's. */
async function moment(): Promise<Date> {
  await sleep(3);
  const at = new Date();
  await sleep(3);
  return at;
}

async function historyAgreesWithStatement({ ana, operator, account, bobAccount }: Scenario): Promise<void> {
  const start = await moment();
  const steps: { at: Date; posted: string; pending: string }[] = [];
  const step = async (what: Promise<{ status: number; body: unknown }>, posted: string, pending: string) => {
    const r = await what;
    assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r.body));
    steps.push({ at: await moment(), posted, pending });
  };
  await step(operator.deposit(account, '10000'), '10000', '0');
  await step(ana.transfer({ fromAccountId: account, to: { accountId: bobAccount }, amount: '3000', currency: 'USD' }), '7000', '0');
  const hold = await ana.post('/v1/holds', { fromAccountId: account, to: { accountId: bobAccount }, amount: '2000', currency: 'USD' }, key());
  assert.equal(hold.status, 201, JSON.stringify(hold.body));
  steps.push({ at: await moment(), posted: '7000', pending: '2000' });
  await step(operator.post(`/v1/holds/${hold.body.id}/post`, { amount: '1500' }, key()), '5500', '0');
  await until(async () => {
    const r = await ana.balance(account);
    return r.status === 200 && r.body.sequence === '4' ? true : undefined;
  }, 'the balance service to apply every entry');

  const statement = async (from: Date | string, to: Date | string) => {
    const iso = (t: Date | string) => encodeURIComponent(typeof t === 'string' ? t : t.toISOString());
    const r = await ana.get(`/v1/accounts/${account}/statement?from=${iso(from)}&to=${iso(to)}&limit=5000`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body as { openingBalance: string; closingBalance: string; entries: unknown[] };
  };

  // At each moment: what we expect, and what the ledger's statement closes on just after it.
  for (const [i, { at, posted, pending }] of [{ at: start, posted: '0', pending: '0' }, ...steps].entries()) {
    const r = await ana.get(`/v1/accounts/${account}/balance?at=${encodeURIComponent(at.toISOString())}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.sequence, r.body.posted, r.body.pending, r.body.available, r.body.at], [String(i), posted, pending, String(BigInt(posted) - BigInt(pending)), at.toISOString()]);
    const closing = (await statement(new Date(start.getTime() - DAY), new Date(at.getTime() + 1))).closingBalance;
    assert.equal(r.body.posted, closing, `balance at ${at.toISOString()} vs the statement`);
  }

  // Per UTC day, and over the whole period: the same opening, closing and entries as the statement.
  const today = new Date(Math.floor(Date.now() / DAY) * DAY);
  const from = new Date(today.getTime() - 2 * DAY).toISOString().slice(0, 10);
  const to = new Date(today.getTime() + DAY).toISOString().slice(0, 10);
  const history = await ana.get(`/v1/accounts/${account}/balance/history?from=${from}&to=${to}&interval=day`);
  assert.equal(history.status, 200, JSON.stringify(history.body));
  const days = history.body.days as { date: string; from: string; to: string; openingBalance: string; closingBalance: string; entries: number }[];
  assert.equal(days.length, 3);
  assert.equal(days.reduce((n, d) => n + d.entries, 0), 3, 'the deposit, the transfer and the capture (not the reservation)');
  for (const day of days) {
    const s = await statement(day.from, day.to);
    assert.deepEqual([day.openingBalance, day.closingBalance, day.entries], [s.openingBalance, s.closingBalance, s.entries.length], day.date);
  }
  const whole = await statement(`${from}T00:00:00.000Z`, `${to}T00:00:00.000Z`);
  assert.deepEqual([history.body.openingBalance, history.body.closingBalance], [whole.openingBalance, whole.closingBalance]);
  assert.equal(history.body.closingBalance, '5500');

  // The operator reads it too; nobody else.
  assert.equal((await operator.get(`/v1/accounts/${account}/balance/history`)).status, 200);
  const stranger = new WalletClient(ana.baseUrl);
  await stranger.signUp(`hx_${randomBytes(3).toString('hex')}`, 'Xavier Stranger');
  assert.equal((await stranger.get(`/v1/accounts/${account}/balance/history`)).body.code, 'account_not_found');
  assert.equal((await stranger.get(`/v1/accounts/${account}/balance?at=${encodeURIComponent(start.toISOString())}`)).body.code, 'account_not_found');
}

interface AlertBody {
  id: string;
  state: string;
  triggerCount: number;
}

async function alertFiresOncePerCrossing({ ana, operator, account, bobAccount }: Scenario, events?: EventEnvelope<BalanceAlertTriggered>[]): Promise<void> {
  // The balance is 5,500 (historyAgreesWithStatement ran first).
  const made = await ana.post(`/v1/accounts/${account}/balance-alerts`, { below: '5000' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.equal(made.body.state, 'armed');
  const alertId = made.body.id as string;
  const alertNow = async () => {
    const r = await ana.get(`/v1/accounts/${account}/balance-alerts`);
    return (r.body.items as AlertBody[]).find((a) => a.id === alertId)!;
  };
  const untilAlert = (state: string, triggerCount: number, what: string) =>
    until(async () => {
      const a = await alertNow();
      return a.state === state && a.triggerCount === triggerCount ? a : undefined;
    }, what);
  const send = async (amount: string) => {
    const r = await ana.transfer({ fromAccountId: account, to: { accountId: bobAccount }, amount, currency: 'USD' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  };

  await send('1000'); // 4,500: under the threshold
  await send('500'); // 4,000: still under
  assert.equal((await operator.deposit(account, '2000')).status, 201); // 6,000: back up
  // Re-armed means the evaluation has seen all three entries: one crossing so far.
  await untilAlert('armed', 1, 'the alert to fire once and re-arm');
  if (events) {
    await sleep(500);
    const mine = events.filter((e) => e.data.alertId === alertId);
    assert.equal(mine.length, 1, JSON.stringify(mine));
    assert.deepEqual({ ...mine[0]!.data, at: undefined }, {
      alertId,
      accountId: account,
      ownerId: mine[0]!.data.ownerId,
      currency: 'USD',
      below: '5000',
      balanceBefore: '5500',
      balanceAfter: '4500',
      sequence: '5',
      at: undefined,
    });
    assert.ok(mine[0]!.data.ownerId.length > 0);
    assert.equal(mine[0]!.source, 'balance');
  }

  await send('1500'); // 4,500: the next crossing
  await untilAlert('triggered', 2, 'the alert to fire again');
  if (events) {
    await until(async () => (events.filter((e) => e.data.alertId === alertId).length >= 2 ? true : undefined), 'the second event');
    await sleep(500);
    assert.deepEqual(
      events.filter((e) => e.data.alertId === alertId).map((e) => [e.data.sequence, e.data.balanceBefore, e.data.balanceAfter]),
      [
        ['5', '5500', '4500'],
        ['8', '6000', '4500'],
      ],
    );
  }

  assert.equal((await ana.request('DELETE', `/v1/accounts/${account}/balance-alerts/${alertId}`)).status, 204);
  assert.deepEqual((await ana.get(`/v1/accounts/${account}/balance-alerts`)).body.items, []);

  // Everything above is in the merged API docs.
  const docs = await new WalletClient(ana.baseUrl).get('/docs/json');
  const paths = Object.keys(docs.body.paths as object);
  for (const path of ['/v1/accounts/{id}/balance/history', '/v1/accounts/{id}/balance-alerts', '/v1/accounts/{id}/balance-alerts/{alertId}']) {
    assert.ok(paths.includes(path), `${path} in the API docs`);
  }
}

describe('balance history and alerts, real mode: five processes on PostgreSQL, RabbitMQ and Redis', await needsInfra(), () => {
  let stack: Stack;
  let bus: RabbitBus;
  let running: Scenario;
  const events: EventEnvelope<BalanceAlertTriggered>[] = [];
  before(async () => {
    stack = await startRealStack();
    // A notification service's view: balance.alert_triggered from a queue of its own.
    bus = createRabbitBus(rabbitmqUrl, { warn: () => undefined, error: () => undefined }, stack.env!.WALLET_NAMESPACE);
    let probed = false;
    await bus.subscribe({
      queue: 'history-test.alerts',
      topics: [eventTypes.balanceAlertTriggered, 'test.probe'],
      handler: async (event) => {
        if (event.type === eventTypes.balanceAlertTriggered) events.push(event as EventEnvelope<BalanceAlertTriggered>);
        else probed = true;
      },
    });
    await until(async () => {
      await bus.publish([envelope('test', 'test.probe', {})]);
      await sleep(100);
      return probed ? true : undefined;
    }, 'the test queue to be bound');
    running = await scenario(stack);
  });
  after(async () => {
    await stack?.stop();
    await bus?.destroy().catch(() => undefined);
    await bus?.close().catch(() => undefined);
  });
  test('?at= and the daily history agree with the ledger statement', async () => historyAgreesWithStatement(running));
  test('an alert fires once when the balance goes under twice and back up, and again at the next crossing', async () => alertFiresOncePerCrossing(running, events));
});

describe('balance history and alerts, embedded mode: one process on PGlite', () => {
  let stack: Stack;
  let running: Scenario;
  before(async () => {
    stack = await startEmbeddedStack();
    running = await scenario(stack);
  });
  after(async () => stack?.stop());
  test('?at= and the daily history agree with the ledger statement', async () => historyAgreesWithStatement(running));
  test('an alert fires once when the balance goes under twice and back up, and again at the next crossing', async () => alertFiresOncePerCrossing(running));
});
