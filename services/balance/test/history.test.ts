// Balances in the past (?at=) and per UTC day (/balance/history) on the real PostgreSQL, RabbitMQ and
// Redis: entries with chosen ledger times go through the broker, reads through HTTP.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { envelope, type EventEnvelope } from '@wallet/kit';
import { eventTypes, type HoldChanged, type TransactionCreated } from '@wallet/contracts';
import { createTestInfra, eventually, needsInfra, startTestIssuer, type TestInfra, type TestIssuer } from '@wallet/testkit';
import { createBalanceService, type BalanceService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { findBalance } from '../src/store/balances.ts';
import { accountOpened, limitsChanged, settlementOpened, startFakeLedger, untilSequence, type FakeLedger } from './support.ts';

describe('balance history on real infrastructure', await needsInfra(), () => {
  let infra: TestInfra;
  let issuer: TestIssuer;
  let ledger: FakeLedger;
  let service: BalanceService;
  let operator: string;
  let anaToken: string;

  const ana = randomUUID();
  const settlement = randomUUID();
  const anaAccount = randomUUID();
  const bobAccount = randomUUID();
  const publish = (...events: EventEnvelope[]) => infra.bus.publish(events);

  /** Gives every entry of a ledger step the ledger time `at` (the stand-in ledger keeps the same objects). */
  const dated = <T extends TransactionCreated | HoldChanged>(data: T, at: string): T => {
    for (const entry of data.entries) entry.createdAt = at;
    return data;
  };

  /** As Ana, as someone else, or without a token (null). */
  const get = async (url: string, token: string | null = anaToken) => {
    const response = await service.app.inject({ method: 'GET', url, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    return { status: response.statusCode, body: response.json() };
  };

  before(async () => {
    infra = await createTestInfra();
    issuer = await startTestIssuer();
    ledger = await startFakeLedger();
    const config = loadConfig({ ...infra.env, ...issuer.env, TRANSACTION_URL: ledger.url, BALANCE_ALERT_SWEEP_INTERVAL_MS: '0' });
    service = await createBalanceService(config, infra);
    await service.app.ready();
    await service.start();
    operator = await issuer.operatorToken();
    anaToken = await issuer.userToken(ana);
    await eventually(
      async () => {
        await publish(envelope('account', eventTypes.accountOpened, settlementOpened(settlement)));
        await new Promise((resolve) => setTimeout(resolve, 200));
        return (await findBalance(infra.db, settlement)) ?? undefined;
      },
      15_000,
      'the consumer to bind its queue',
    );
    await publish(
      envelope('account', eventTypes.accountOpened, accountOpened(anaAccount, ana)),
      envelope('account', eventTypes.accountOpened, accountOpened(bobAccount, randomUUID())),
    );

    // Ana's entries, on 10, 11 and 13 January (UTC):
    //   1 deposit 10,000 · 2 hold 3,000 (reserves, moves nothing) · 3 transfer −2,500 ·
    //   4 the hold posted for 1,000 (one millisecond before midnight) · 5 deposit 500 (at midnight)
    await publish(envelope('transaction', eventTypes.transactionCreated, dated(ledger.book(settlement, anaAccount, 10_000n, 'deposit'), '2026-01-10T10:00:00.000Z')));
    const hold = dated(ledger.hold(anaAccount, bobAccount, 3_000n), '2026-01-10T12:00:00.000Z');
    await publish(envelope('transaction', eventTypes.holdCreated, hold));
    await publish(envelope('transaction', eventTypes.transactionCreated, dated(ledger.book(anaAccount, bobAccount, 2_500n), '2026-01-11T09:00:00.000Z')));
    await publish(envelope('transaction', eventTypes.holdPosted, dated(ledger.postHold(hold.hold, 1_000n), '2026-01-11T23:59:59.999Z')));
    await publish(envelope('transaction', eventTypes.transactionCreated, dated(ledger.book(settlement, anaAccount, 500n, 'deposit'), '2026-01-13T00:00:00.000Z')));
    await untilSequence(service.app, operator, anaAccount, 5n);
    // An overdraft granted today: available in the past counts the limit known now.
    await publish(envelope('account', eventTypes.accountLimitsChanged, limitsChanged(anaAccount, ana, '1000')));
    await eventually(async () => ((await findBalance(infra.db, anaAccount))?.overdraftLimit === 1000n ? true : undefined), 10_000, 'the limit');
  });

  after(async () => {
    await service?.stop();
    await ledger?.close();
    await issuer?.close();
    await infra?.destroy();
  });

  test('?at= answers the balance after the last entry at or before that moment', async () => {
    const at = async (moment: string) => {
      const { status, body } = await get(`/v1/accounts/${anaAccount}/balance?at=${encodeURIComponent(moment)}`);
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.at, new Date(moment).toISOString());
      assert.equal(body.accountId, anaAccount);
      assert.equal(body.currency, 'USD');
      assert.equal(body.overdraftLimit, '1000');
      return [body.sequence, body.posted, body.pending, body.available, body.updatedAt];
    };
    assert.deepEqual(await at('2026-01-10T09:59:59.999Z'), ['0', '0', '0', '1000', '2026-01-10T09:59:59.999Z']);
    assert.deepEqual(await at('2026-01-10T10:00:00.000Z'), ['1', '10000', '0', '11000', '2026-01-10T10:00:00.000Z']);
    // The hold's reservation: posted unchanged, pending up, available down.
    assert.deepEqual(await at('2026-01-10T12:00:00Z'), ['2', '10000', '3000', '8000', '2026-01-10T12:00:00.000Z']);
    assert.deepEqual(await at('2026-01-11T23:59:59.998Z'), ['3', '7500', '3000', '5500', '2026-01-11T09:00:00.000Z']);
    assert.deepEqual(await at('2026-01-12T12:00:00+02:00'), ['4', '6500', '0', '7500', '2026-01-11T23:59:59.999Z']);
    assert.deepEqual(await at('2030-01-01T00:00:00Z'), ['5', '7000', '0', '8000', '2026-01-13T00:00:00.000Z']);

    // Without ?at= the route answers the balance as it stands, without `at`.
    const now = await get(`/v1/accounts/${anaAccount}/balance`);
    assert.equal(now.body.posted, '7000');
    assert.equal(now.body.at, undefined);

    // The same access rule as the balance itself.
    assert.equal((await get(`/v1/accounts/${anaAccount}/balance?at=2026-01-11T00:00:00Z`, operator)).body.posted, '10000');
    for (const [url, token, status] of [
      [`/v1/accounts/${anaAccount}/balance?at=2026-01-11T00:00:00Z`, await issuer.userToken(randomUUID()), 404],
      [`/v1/accounts/${randomUUID()}/balance?at=2026-01-11T00:00:00Z`, anaToken, 404],
      [`/v1/accounts/not-an-id/balance?at=2026-01-11T00:00:00Z`, anaToken, 404],
      [`/v1/accounts/${anaAccount}/balance?at=2026-01-11T00:00:00Z`, null, 401],
      [`/v1/accounts/${anaAccount}/balance?at=yesterday`, anaToken, 400],
      [`/v1/accounts/${anaAccount}/balance?at=2026-01-11`, anaToken, 400],
    ] as const) {
      const { status: got, body } = await get(url, token);
      assert.equal(got, status, `${url}: ${JSON.stringify(body)}`);
    }
  });

  test('/balance/history: opening and closing posted balances and moving entries per UTC day', async () => {
    const { status, body } = await get(`/v1/accounts/${anaAccount}/balance/history?from=2026-01-10&to=2026-01-14&interval=day`);
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(
      { ...body, days: undefined },
      { accountId: anaAccount, currency: 'USD', interval: 'day', from: '2026-01-10T00:00:00.000Z', to: '2026-01-14T00:00:00.000Z', openingBalance: '0', closingBalance: '7000', days: undefined },
    );
    assert.deepEqual(
      body.days.map((d: Record<string, unknown>) => [d.date, d.openingBalance, d.closingBalance, d.entries]),
      [
        // The hold's reservation moves no posted money: one entry on the 10th, as the statement counts.
        ['2026-01-10', '0', '10000', 1],
        ['2026-01-11', '10000', '6500', 2],
        ['2026-01-12', '6500', '6500', 0],
        ['2026-01-13', '6500', '7000', 1],
      ],
    );

    // A period that starts and ends inside days: the first and last rows are clipped to it.
    const clipped = await get(`/v1/accounts/${anaAccount}/balance/history?from=2026-01-10T11:00:00Z&to=2026-01-11T10:00:00Z`);
    assert.equal(clipped.status, 200);
    assert.deepEqual(
      clipped.body.days.map((d: Record<string, unknown>) => [d.date, d.from, d.to, d.openingBalance, d.closingBalance, d.entries]),
      [
        ['2026-01-10', '2026-01-10T11:00:00.000Z', '2026-01-11T00:00:00.000Z', '10000', '10000', 0],
        ['2026-01-11', '2026-01-11T00:00:00.000Z', '2026-01-11T10:00:00.000Z', '10000', '7500', 1],
      ],
    );

    // By default the 30 UTC days up to today, today last.
    const recent = await get(`/v1/accounts/${anaAccount}/balance/history`);
    assert.equal(recent.status, 200);
    assert.equal(recent.body.days.length, 30);
    assert.equal(recent.body.days.at(-1).date, new Date().toISOString().slice(0, 10));
    assert.ok(recent.body.days.every((d: Record<string, unknown>) => d.openingBalance === '7000' && d.closingBalance === '7000' && d.entries === 0));

    assert.equal((await get(`/v1/accounts/${anaAccount}/balance/history?from=2026-01-10&to=2026-01-11`, operator)).status, 200);
    for (const [query, token, status] of [
      ['from=2026-01-11&to=2026-01-11', anaToken, 400],
      ['from=2026-01-12&to=2026-01-11', anaToken, 400],
      ['from=2025-01-01&to=2026-01-03', anaToken, 400],
      ['from=2026-01-01&to=2026-01-03&interval=week', anaToken, 400],
      ['from=soon', anaToken, 400],
      ['from=2026-01-01&to=2026-01-03', await issuer.userToken(randomUUID()), 404],
      ['from=2026-01-01&to=2026-01-03', null, 401],
    ] as const) {
      const { status: got, body: problem } = await get(`/v1/accounts/${anaAccount}/balance/history?${query}`, token);
      assert.equal(got, status, `${query}: ${JSON.stringify(problem)}`);
    }
    assert.equal((await get(`/v1/accounts/${randomUUID()}/balance/history`)).body.code, 'account_not_found');
  });
});
