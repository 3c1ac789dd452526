// The balance service against real PostgreSQL, RabbitMQ and Redis: events go through the broker,
// reads through HTTP, repairs through a stand-in ledger.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Connection } from 'rabbitmq-client';
import { envelope, type EventEnvelope } from '@wallet/kit';
import { eventTypes, type TransactionCreated } from '@wallet/contracts';
import { createTestInfra, eventually, needsInfra, rabbitmqUrl, startTestIssuer, type TestInfra, type TestIssuer } from '@wallet/testkit';
import { createBalanceService, type BalanceService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { cacheKey } from '../src/store/balance-cache.ts';
import { countEntries, findBalance } from '../src/store/balances.ts';
import { accountOpened, breakableCache, readBalance, startFakeLedger, untilSequence, type FakeLedger } from './support.ts';

describe('balance service on real infrastructure', await needsInfra(), () => {
  let infra: TestInfra;
  let issuer: TestIssuer;
  let ledger: FakeLedger;
  let service: BalanceService;
  let cache: ReturnType<typeof breakableCache>;
  let operator: string;

  const ana = randomUUID();
  const bob = randomUUID();
  const anaAccount = randomUUID();
  const bobAccount = randomUUID();
  const settlement = randomUUID();

  const publish = (...events: EventEnvelope[]) => infra.bus.publish(events);
  const opened = (accountId: string, ownerId: string) => envelope('account', eventTypes.accountOpened, accountOpened(accountId, ownerId));
  const created = (data: TransactionCreated) => envelope('transaction', eventTypes.transactionCreated, data);

  before(async () => {
    infra = await createTestInfra();
    issuer = await startTestIssuer();
    ledger = await startFakeLedger();
    cache = breakableCache(infra.cache);
    const config = loadConfig({ ...infra.env, ...issuer.env, TRANSACTION_URL: ledger.url, BALANCE_CACHE_RETRY_INTERVAL_MS: '100' });
    service = await createBalanceService(config, { ...infra, cache });
    await service.app.ready();
    await service.start();
    operator = await issuer.operatorToken();
    // The consumer binds its queue in the background: publish the first (idempotent) event until it lands.
    await eventually(
      async () => {
        await publish(opened(settlement, 'settlement-usd'));
        await new Promise((resolve) => setTimeout(resolve, 200));
        return (await findBalance(infra.db, settlement)) ?? undefined;
      },
      15_000,
      'the consumer to bind its queue',
    );
    await publish(opened(anaAccount, ana), opened(bobAccount, bob));
  });

  after(async () => {
    await service?.stop();
    await ledger?.close();
    await issuer?.close();
    await infra?.destroy();
  });

  test('applies deposits and transfers and serves them to the owner', async () => {
    await publish(created(ledger.book(settlement, anaAccount, 10_000n, 'deposit')));
    await publish(created(ledger.book(anaAccount, bobAccount, 2_500n)));
    await untilSequence(service.app, operator, anaAccount, 2n);
    await untilSequence(service.app, operator, bobAccount, 1n);

    const mine = await readBalance(service.app, anaAccount, await issuer.userToken(ana));
    assert.equal(mine.status, 200);
    assert.deepEqual({ ...mine.body, updatedAt: undefined }, {
      accountId: anaAccount,
      currency: 'USD',
      available: '7500',
      pending: '0',
      sequence: '2',
      updatedAt: undefined,
    });
    assert.ok(!Number.isNaN(Date.parse(mine.body.updatedAt)));
    assert.equal((await readBalance(service.app, bobAccount, await issuer.userToken(bob))).body.available, '2500');
    assert.equal((await readBalance(service.app, settlement, operator)).body.available, '-10000');
    assert.equal(await countEntries(infra.db, anaAccount), 2);
    // The cache holds the same balance, versioned by sequence.
    const cached = await infra.cache.getVersioned(cacheKey(anaAccount));
    assert.equal(cached?.version, '2');
    assert.equal(cached?.available, '7500');
  });

  test("nobody else learns an account exists: another user's, unknown and malformed ids are 404", async () => {
    const bobToken = await issuer.userToken(bob);
    for (const id of [anaAccount, randomUUID(), 'not-an-id', `${anaAccount}x`]) {
      const answer = await readBalance(service.app, id, bobToken);
      assert.equal(answer.status, 404, id);
      assert.equal(answer.body.code, 'account_not_found');
      assert.match(answer.contentType, /application\/problem\+json/);
    }
    assert.equal((await readBalance(service.app, anaAccount, undefined)).status, 401);
    assert.equal((await readBalance(service.app, anaAccount, `${await issuer.userToken(ana)}x`)).status, 401);
    assert.equal((await readBalance(service.app, anaAccount, operator)).status, 200);
  });

  test('a duplicate delivery changes nothing', async () => {
    const event = created(ledger.book(anaAccount, bobAccount, 500n));
    await publish(event);
    await untilSequence(service.app, operator, bobAccount, 2n);
    const duplicatesBefore = service.stats.duplicates;
    // The same envelope again, and the same data under a new envelope id: 4 entries, all duplicates.
    await publish(event, created(event.data));
    await eventually(async () => (service.stats.duplicates >= duplicatesBefore + 4 ? true : undefined), 15_000, 'duplicates');
    const anaNow = await readBalance(service.app, anaAccount, operator);
    assert.equal(anaNow.body.available, '7000');
    assert.equal(anaNow.body.sequence, '3');
    assert.equal((await readBalance(service.app, bobAccount, operator)).body.available, '3000');
    assert.equal(await countEntries(infra.db, anaAccount), 3);
    assert.equal(await countEntries(infra.db, bobAccount), 2);
  });

  test('an event that overtakes an earlier one is repaired from the ledger, never skipped', async () => {
    const carol = randomUUID();
    const carolAccount = randomUUID();
    const daveAccount = randomUUID();
    await publish(opened(carolAccount, carol), opened(daveAccount, randomUUID()));
    const first = ledger.book(settlement, carolAccount, 5_000n, 'deposit'); // carol #1
    const second = ledger.book(carolAccount, daveAccount, 1_200n); // carol #2, dave #1
    const repairedBefore = service.stats.repaired;

    await publish(created(second));
    const carolNow = await untilSequence(service.app, operator, carolAccount, 2n);
    assert.equal(carolNow.available, '3800');
    assert.equal((await untilSequence(service.app, operator, daveAccount, 1n)).available, '1200');
    assert.ok(ledger.requests.includes(`/internal/accounts/${carolAccount}/entries?afterSequence=0&limit=1`), ledger.requests.join('\n'));
    assert.equal(service.stats.repaired, repairedBefore + 1);

    // The late event itself: carol's entry is now a duplicate, the settlement's entry applies.
    await publish(created(first));
    const settled = await untilSequence(service.app, operator, settlement, 2n);
    assert.equal(settled.available, '-15000');
    assert.equal((await readBalance(service.app, carolAccount, await issuer.userToken(carol))).body.available, '3800');
    assert.equal(await countEntries(infra.db, carolAccount), 2);
  });

  test('an event whose arithmetic does not add up is never applied and ends in the dead-letter queue', async () => {
    const before = { ana: await readBalance(service.app, anaAccount, operator), bob: await readBalance(service.app, bobAccount, operator) };
    assert.equal(before.ana.body.sequence, '3');
    const rejectedBefore = service.stats.rejected;
    const badId = randomUUID();
    const bad = created({
      transfer: { id: badId, kind: 'transfer', fromAccountId: anaAccount, toAccountId: bobAccount, amount: '100', currency: 'USD', description: null, createdAt: new Date().toISOString() },
      entries: [
        // 7000 - 100 is not 6000; bob's leg is right, but the event is applied whole or not at all.
        { accountId: anaAccount, transferId: badId, currency: 'USD', amount: '-100', balanceAfter: '6000', sequence: '4', createdAt: new Date().toISOString() },
        { accountId: bobAccount, transferId: badId, currency: 'USD', amount: '100', balanceAfter: '3100', sequence: '3', createdAt: new Date().toISOString() },
      ],
    });
    await publish(bad);

    const deadLetterQueue = `${infra.namespace}.balance.events.dlq`;
    const connection = new Connection(rabbitmqUrl);
    try {
      await eventually(
        async () => ((await connection.queueDeclare({ queue: deadLetterQueue, passive: true })).messageCount === 1 ? true : undefined),
        20_000,
        'the event in the dead-letter queue',
      );
    } finally {
      await connection.close();
    }
    assert.ok(service.stats.rejected > rejectedBefore, 'the consumer refused it');
    assert.deepEqual((await readBalance(service.app, anaAccount, operator)).body, before.ana.body);
    assert.deepEqual((await readBalance(service.app, bobAccount, operator)).body, before.bob.body);
    assert.equal(await countEntries(infra.db, bobAccount), 2);

    // The queue moved on: the ledger's real next transfer applies.
    await publish(created(ledger.book(anaAccount, bobAccount, 100n)));
    assert.equal((await untilSequence(service.app, operator, anaAccount, 4n)).available, '6900');
    assert.equal((await untilSequence(service.app, operator, bobAccount, 3n)).available, '3100');
  });

  test('with Redis wiped, reads come from PostgreSQL and refill the cache', async () => {
    await infra.cache.del(cacheKey(anaAccount));
    await infra.cache.del(cacheKey(bobAccount));
    const anaNow = await readBalance(service.app, anaAccount, await issuer.userToken(ana));
    assert.equal(anaNow.status, 200);
    assert.equal(anaNow.body.available, String(ledger.balanceOf(anaAccount)));
    assert.equal((await readBalance(service.app, bobAccount, await issuer.userToken(bob))).body.available, String(ledger.balanceOf(bobAccount)));
    assert.equal((await infra.cache.getVersioned(cacheKey(anaAccount)))?.available, '6900');
  });

  test('with Redis failing, events still apply and reads stay correct; the cache catches up afterwards', async () => {
    cache.broken = true;
    try {
      await publish(created(ledger.book(bobAccount, anaAccount, 1_000n)));
      await eventually(async () => ((await findBalance(infra.db, anaAccount))?.sequence === 5n ? true : undefined), 15_000, 'the event applied');
      const anaNow = await readBalance(service.app, anaAccount, await issuer.userToken(ana));
      assert.equal(anaNow.status, 200);
      assert.equal(anaNow.body.available, '7900');
      assert.equal(anaNow.body.sequence, '5');
      assert.equal((await readBalance(service.app, bobAccount, operator)).body.available, '2100');
      // Redis itself still holds the old balance; nothing may serve it.
      assert.equal((await infra.cache.getVersioned(cacheKey(anaAccount)))?.version, '4');
    } finally {
      cache.broken = false;
    }
    await eventually(async () => ((await infra.cache.getVersioned(cacheKey(anaAccount)))?.version === '5' ? true : undefined), 10_000, 'the cache rewrite');
    assert.equal((await infra.cache.getVersioned(cacheKey(anaAccount)))?.available, '7900');
    assert.equal((await readBalance(service.app, anaAccount, operator)).body.available, '7900');
  });

  test('entries that overtake account.opened: operators read at once, the owner once the account is known', async () => {
    const erin = randomUUID();
    const erinAccount = randomUUID();
    await publish(created(ledger.book(settlement, erinAccount, 300n, 'deposit')));
    assert.equal((await untilSequence(service.app, operator, erinAccount, 1n)).available, '300');
    assert.equal((await readBalance(service.app, erinAccount, await issuer.userToken(erin))).status, 404);

    await publish(opened(erinAccount, erin), opened(erinAccount, erin));
    const mine = await eventually(async () => {
      const answer = await readBalance(service.app, erinAccount, await issuer.userToken(erin));
      return answer.status === 200 ? answer.body : undefined;
    }, 15_000, 'the owner to be known');
    assert.equal(mine.available, '300');
    assert.equal(mine.sequence, '1');
  });

  test('a freshly opened account reads zero', async () => {
    const finn = randomUUID();
    const finnAccount = randomUUID();
    await publish(opened(finnAccount, finn));
    const mine = await eventually(async () => {
      const answer = await readBalance(service.app, finnAccount, await issuer.userToken(finn));
      return answer.status === 200 ? answer.body : undefined;
    }, 15_000, 'the account');
    assert.equal(mine.available, '0');
    assert.equal(mine.pending, '0');
    assert.equal(mine.sequence, '0');
  });
});
