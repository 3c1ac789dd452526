// Balance alerts on the real PostgreSQL, RabbitMQ and Redis: the HTTP routes, crossings published
// through the service's outbox onto the broker (read back from a queue of this test), re-arming,
// holds and limits changes, racing evaluators on other connections, redeliveries, the sweep, and a
// failing evaluation that leaves the consumer alone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createPgDb, envelope, type Db, type EventEnvelope } from '@wallet/kit';
import { eventTypes, type BalanceAlertTriggered, type HoldChanged, type TransactionCreated } from '@wallet/contracts';
import { createTestInfra, eventually, needsInfra, startTestIssuer, type TestInfra, type TestIssuer } from '@wallet/testkit';
import { createBalanceService, type BalanceService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createAlertEvaluator } from '../src/jobs/alerts.ts';
import { findBalance } from '../src/store/balances.ts';
import { accountOpened, limitsChanged, settlementOpened, startFakeLedger, untilSequence, type FakeLedger } from './support.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('balance alerts on real infrastructure', await needsInfra(), () => {
  let infra: TestInfra;
  let issuer: TestIssuer;
  let ledger: FakeLedger;
  let service: BalanceService;
  let operator: string;
  const settlement = randomUUID();
  const received: EventEnvelope<BalanceAlertTriggered>[] = [];
  const silent = { warn: () => undefined };

  const publish = (...events: EventEnvelope[]) => infra.bus.publish(events);
  const created = (data: TransactionCreated) => envelope('transaction', eventTypes.transactionCreated, data);
  const holdCreated = (data: HoldChanged) => envelope('transaction', eventTypes.holdCreated, data);

  const request = async (method: 'GET' | 'POST' | 'DELETE', url: string, token: string | null, payload?: object) => {
    const response = await service.app.inject({ method, url, headers: token === null ? {} : { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload }) });
    return { status: response.statusCode, body: response.body ? response.json() : undefined };
  };

  /** A user's account, opened through its event. */
  const openAccount = async (owner: string, overdraftLimit = '0') => {
    const accountId = randomUUID();
    await publish(envelope('account', eventTypes.accountOpened, accountOpened(accountId, owner, 'USD', overdraftLimit)));
    await eventually(async () => ((await findBalance(infra.db, accountId))?.ownerId ? true : undefined), 10_000, 'the opening');
    return accountId;
  };

  /** Publishes ledger steps and waits until the account has applied them and its alerts were evaluated. */
  const apply = async (accountId: string, ...events: EventEnvelope[]) => {
    await publish(...events);
    await untilSequence(service.app, operator, accountId, ledger.sequenceOf(accountId));
    await service.alerts.idle();
  };

  const eventsOf = (alertId: string) => received.filter((e) => e.data.alertId === alertId).map((e) => e.data);

  /** Waits until the broker has delivered `count` events of the alert, then a little longer to see that no more come. */
  const untilEvents = async (alertId: string, count: number) => {
    await eventually(async () => (eventsOf(alertId).length >= count ? true : undefined), 10_000, `${count} events of alert ${alertId}`);
    await sleep(300);
    return eventsOf(alertId);
  };

  before(async () => {
    infra = await createTestInfra();
    issuer = await startTestIssuer();
    ledger = await startFakeLedger();
    // No periodic sweep: the tests call it when they mean it.
    const config = loadConfig({ ...infra.env, ...issuer.env, TRANSACTION_URL: ledger.url, BALANCE_ALERT_SWEEP_INTERVAL_MS: '0' });
    service = await createBalanceService(config, infra);
    await service.app.ready();
    await service.start();
    operator = await issuer.operatorToken();
    // What a notification service would read: every balance.alert_triggered, from a queue of its own.
    await infra.bus.subscribe({
      queue: 'alerts-test',
      topics: [eventTypes.balanceAlertTriggered, 'test.probe'],
      handler: async (event) => {
        received.push(event as EventEnvelope<BalanceAlertTriggered>);
      },
    });
    await eventually(
      async () => {
        await publish(envelope('account', eventTypes.accountOpened, settlementOpened(settlement)), envelope('test', 'test.probe', {}));
        await sleep(200);
        return (await findBalance(infra.db, settlement)) && received.some((e) => e.type === 'test.probe') ? true : undefined;
      },
      15_000,
      'the consumers to bind their queues',
    );
  });

  after(async () => {
    await service?.stop();
    await ledger?.close();
    await issuer?.close();
    await infra?.destroy();
  });

  test('owners set, list and delete alerts; nobody else sees them; at most 10 per account', async () => {
    const ana = randomUUID();
    const token = await issuer.userToken(ana);
    const account = await openAccount(ana);
    const url = `/v1/accounts/${account}/balance-alerts`;

    const made = await request('POST', url, token, { below: '5000' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.deepEqual({ ...made.body, id: undefined, createdAt: undefined }, {
      id: undefined,
      accountId: account,
      below: '5000',
      // The balance is 0: already under the threshold, so the alert waits for it to come back first.
      state: 'triggered',
      triggerCount: 0,
      lastTriggeredAt: null,
      createdAt: undefined,
    });
    assert.ok(!Number.isNaN(Date.parse(made.body.createdAt)));

    for (const body of [{ below: '-1' }, { below: '1.5' }, { below: 5000 }, {}, { below: '99999999999999999999' }]) {
      const refused = await request('POST', url, token, body);
      assert.equal(refused.status, 400, JSON.stringify(body));
      assert.equal(refused.body.code, 'validation_failed');
    }
    const stranger = await issuer.userToken(randomUUID());
    assert.equal((await request('POST', url, stranger, { below: '1' })).body.code, 'account_not_found');
    assert.equal((await request('GET', url, stranger)).status, 404);
    assert.equal((await request('DELETE', `${url}/${made.body.id}`, stranger)).status, 404);
    assert.equal((await request('GET', url, null)).status, 401);
    assert.equal((await request('POST', `/v1/accounts/not-an-id/balance-alerts`, token, { below: '1' })).status, 404);

    const listed = await request('GET', url, operator);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.items, [made.body]);

    for (let i = 1; i < 10; i++) assert.equal((await request('POST', url, token, { below: String(i) })).status, 201);
    const full = await request('POST', url, token, { below: '10' });
    assert.equal(full.status, 422);
    assert.equal(full.body.code, 'balance_alert_limit_reached');
    assert.equal(full.body.max, 10);

    assert.equal((await request('DELETE', `${url}/${made.body.id}`, token)).status, 204);
    const gone = await request('DELETE', `${url}/${made.body.id}`, token);
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'balance_alert_not_found');
    assert.equal((await request('DELETE', `${url}/nope`, token)).body.code, 'balance_alert_not_found');
    assert.equal((await request('GET', url, token)).body.items.length, 9);
    assert.equal((await request('POST', url, token, { below: '10' })).status, 201);
  });

  test('a crossing fires once however many entries stay under; coming back re-arms; a redelivery fires nothing', async () => {
    const ana = randomUUID();
    const token = await issuer.userToken(ana);
    const account = await openAccount(ana);
    const shop = await openAccount(randomUUID());
    const steps: EventEnvelope[] = [created(ledger.book(settlement, account, 10_000n, 'deposit'))];
    await apply(account, ...steps);
    const alert = (await request('POST', `/v1/accounts/${account}/balance-alerts`, token, { below: '5000' })).body;
    assert.equal(alert.state, 'armed');

    steps.push(created(ledger.book(account, shop, 6_000n)));
    await apply(account, steps.at(-1)!); // 4,000: under
    steps.push(created(ledger.book(account, shop, 1_000n)));
    await apply(account, steps.at(-1)!); // 3,000: still under
    const [first, ...none] = await untilEvents(alert.id, 1);
    assert.deepEqual(none, []);
    const entry = await infra.db.query<{ created_at: Date }>('SELECT created_at FROM balance.entries WHERE account_id = $1 AND sequence = 2', [account]);
    assert.deepEqual(first, {
      alertId: alert.id,
      accountId: account,
      ownerId: ana,
      currency: 'USD',
      below: '5000',
      balanceBefore: '10000',
      balanceAfter: '4000',
      sequence: '2',
      at: entry.rows[0]!.created_at.toISOString(),
    });

    steps.push(created(ledger.book(settlement, account, 5_000n, 'deposit')));
    await apply(account, steps.at(-1)!); // 8,000: re-armed, silently
    let [listed] = (await request('GET', `/v1/accounts/${account}/balance-alerts`, token)).body.items;
    assert.equal(listed.state, 'armed');
    assert.equal(listed.triggerCount, 1);
    steps.push(created(ledger.book(account, shop, 4_000n)));
    await apply(account, steps.at(-1)!); // 4,000: under again
    const events = await untilEvents(alert.id, 2);
    assert.deepEqual(events.map((e) => [e.sequence, e.balanceBefore, e.balanceAfter]), [
      ['2', '10000', '4000'],
      ['5', '8000', '4000'],
    ]);
    [listed] = (await request('GET', `/v1/accounts/${account}/balance-alerts`, token)).body.items;
    assert.deepEqual([listed.state, listed.triggerCount, listed.lastTriggeredAt], ['triggered', 2, events[1]!.at]);

    // Every event again (a redelivery): duplicates change nothing, fire nothing.
    await publish(...steps);
    await sleep(200);
    await service.alerts.idle();
    assert.equal(await service.alerts.evaluate(account), 0);
    assert.equal((await untilEvents(alert.id, 2)).length, 2);
  });

  test('available is what counts: a hold reserving money crosses, and so does a lowered overdraft alone', async () => {
    const ana = randomUUID();
    const token = await issuer.userToken(ana);
    const account = await openAccount(ana, '3000');
    const shop = await openAccount(randomUUID());
    await apply(account, created(ledger.book(settlement, account, 5_000n, 'deposit'))); // available 8,000
    const byHold = (await request('POST', `/v1/accounts/${account}/balance-alerts`, token, { below: '7000' })).body;
    const byLimit = (await request('POST', `/v1/accounts/${account}/balance-alerts`, token, { below: '4000' })).body;
    assert.deepEqual([byHold.state, byLimit.state], ['armed', 'armed']);

    await apply(account, holdCreated(ledger.hold(account, shop, 2_000n))); // posted 5,000, pending 2,000: available 6,000
    assert.deepEqual((await untilEvents(byHold.id, 1)).map((e) => [e.sequence, e.balanceBefore, e.balanceAfter]), [['2', '8000', '6000']]);

    // The operator takes the overdraft away: available 3,000 without a new entry.
    await publish(envelope('account', eventTypes.accountLimitsChanged, limitsChanged(account, ana, '0')));
    await eventually(async () => ((await findBalance(infra.db, account))?.overdraftLimit === 0n ? true : undefined), 10_000, 'the limit');
    await service.alerts.idle();
    assert.deepEqual((await untilEvents(byLimit.id, 1)).map((e) => [e.sequence, e.balanceBefore, e.balanceAfter]), [['2', '6000', '3000']]);
    assert.equal(eventsOf(byHold.id).length, 1);
  });

  test('racing evaluators on other connections (replicas) publish each crossing exactly once', async () => {
    const ana = randomUUID();
    const token = await issuer.userToken(ana);
    const account = await openAccount(ana);
    const shop = await openAccount(randomUUID());
    await apply(account, created(ledger.book(settlement, account, 10_000n, 'deposit')));
    const high = (await request('POST', `/v1/accounts/${account}/balance-alerts`, token, { below: '8000' })).body;
    const low = (await request('POST', `/v1/accounts/${account}/balance-alerts`, token, { below: '5000' })).body;

    const pools: Db[] = [createPgDb(infra.databaseUrl, 2), createPgDb(infra.databaseUrl, 2)];
    const replicas = pools.map((db) => createAlertEvaluator({ db, log: silent, concurrency: 1, queueMax: 10, sweepIntervalMs: 0, entriesPerEvaluationMax: 2 }));
    let racing = true;
    const races = replicas.map(async (replica) => {
      while (racing) await replica.evaluate(account);
    });
    try {
      // 7,000 (under 8,000) · 4,000 (under 5,000) · 9,000 (both re-armed) · 3,000 (under both), each step also redelivered.
      for (const [from, to, amount] of [
        [account, shop, 3_000n],
        [account, shop, 3_000n],
        [settlement, account, 5_000n],
        [account, shop, 6_000n],
      ] as const) {
        const step = created(ledger.book(from, to, amount));
        await publish(step, step);
      }
      await untilSequence(service.app, operator, account, 5n);
      await sleep(100);
    } finally {
      racing = false;
      await Promise.all(races);
      await Promise.all(pools.map((db) => db.close()));
    }
    await service.alerts.idle();
    await service.alerts.sweep();
    assert.deepEqual((await untilEvents(high.id, 2)).map((e) => e.sequence), ['2', '5']);
    assert.deepEqual((await untilEvents(low.id, 2)).map((e) => e.sequence), ['3', '5']);
    const counts = (await request('GET', `/v1/accounts/${account}/balance-alerts`, token)).body.items.map((a: { triggerCount: number }) => a.triggerCount);
    assert.deepEqual(counts, [2, 2]);
  });

  test('a failing evaluation leaves the consumer alone; the sweep publishes the missed crossing once', async () => {
    const ana = randomUUID();
    const token = await issuer.userToken(ana);
    const account = await openAccount(ana);
    const shop = await openAccount(randomUUID());
    await apply(account, created(ledger.book(settlement, account, 10_000n, 'deposit')));
    const alert = (await request('POST', `/v1/accounts/${account}/balance-alerts`, token, { below: '5000' })).body;

    const failures = service.alerts.stats.failures;
    await infra.db.query('ALTER TABLE balance.alerts RENAME TO alerts_away');
    try {
      await apply(account, created(ledger.book(account, shop, 7_000n)));
      assert.ok(service.alerts.stats.failures > failures, 'the evaluation failed');
      // The balance was applied all the same.
      const balance = await request('GET', `/v1/accounts/${account}/balance`, token);
      assert.equal(balance.body.posted, '3000');
    } finally {
      await infra.db.query('ALTER TABLE balance.alerts_away RENAME TO alerts');
    }
    await sleep(300);
    assert.deepEqual(eventsOf(alert.id), []);

    await service.alerts.sweep();
    await service.alerts.sweep();
    assert.deepEqual((await untilEvents(alert.id, 1)).map((e) => [e.sequence, e.balanceAfter]), [['2', '3000']]);
  });
});
