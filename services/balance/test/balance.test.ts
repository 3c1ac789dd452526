// The balance service against real PostgreSQL, RabbitMQ and Redis: events go through the broker,
// reads through HTTP, repairs through a stand-in ledger.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Connection } from 'rabbitmq-client';
import { partitionOf, partitionQueue } from '../src/events/partitions.ts';
import { envelope, type EventEnvelope } from '@wallet/kit';
import { eventTypes, type AccountLimitsChanged, type HoldChanged, type TransactionCreated, type TransactionRejected } from '@wallet/contracts';
import { createTestInfra, eventually, needsInfra, rabbitmqUrl, startTestIssuer, type TestInfra, type TestIssuer } from '@wallet/testkit';
import { createBalanceService, type BalanceService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { cacheKey } from '../src/store/balance-cache.ts';
import { countEntries, findBalance } from '../src/store/balances.ts';
import {
  accountOpened,
  breakableCache,
  limitsChanged,
  metricValue,
  readBalance,
  settlementOpened,
  startFakeLedger,
  UNBOUNDED,
  untilSequence,
  type FakeLedger,
} from './support.ts';

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
  const opened = (accountId: string, ownerId: string, overdraftLimit = '0', createdAt?: string) =>
    envelope('account', eventTypes.accountOpened, accountOpened(accountId, ownerId, 'USD', overdraftLimit, createdAt));
  const created = (data: TransactionCreated) => envelope('transaction', eventTypes.transactionCreated, data);
  const holdEvent = (data: HoldChanged) =>
    envelope('transaction', { pending: eventTypes.holdCreated, posted: eventTypes.holdPosted, voided: eventTypes.holdVoided, expired: eventTypes.holdExpired }[data.hold.status], data);
  const limits = (data: AccountLimitsChanged) => envelope('account', eventTypes.accountLimitsChanged, data);

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
        await publish(envelope('account', eventTypes.accountOpened, settlementOpened(settlement)));
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
      posted: '7500',
      pending: '0',
      available: '7500',
      overdraftLimit: '0',
      sequence: '2',
      updatedAt: undefined,
    });
    assert.ok(!Number.isNaN(Date.parse(mine.body.updatedAt)));
    assert.equal((await readBalance(service.app, bobAccount, await issuer.userToken(bob))).body.available, '2500');
    // A settlement account's unbounded limit is shown, not added.
    const settled = (await readBalance(service.app, settlement, operator)).body;
    assert.deepEqual([settled.posted, settled.pending, settled.available, settled.overdraftLimit], ['-10000', '0', '-10000', UNBOUNDED]);
    assert.equal(await countEntries(infra.db, anaAccount), 2);
    // The cache holds the same balance, versioned by the row's revision (always above the sequence).
    const cached = await infra.cache.getVersioned(cacheKey(anaAccount));
    assert.equal(cached?.sequence, '2');
    assert.equal(cached?.version, '3');
    assert.equal(cached?.posted, '7500');
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
        // 7000 - 100 is not 6000. (Each account's entries are checked and applied on their own, in
        // the account's partition: this event carries only Ana's.)
        { accountId: anaAccount, transferId: badId, currency: 'USD', amount: '-100', balanceAfter: '6000', sequence: '4', createdAt: new Date().toISOString() },
      ],
    });
    await publish(bad);

    const deadLetterQueue = `${infra.namespace}.${partitionQueue(partitionOf(anaAccount, 8))}.dlq`;
    const connection = new Connection(rabbitmqUrl);
    try {
      await eventually(
        async () => ((await connection.queueDeclare({ queue: deadLetterQueue, passive: true })).messageCount === 1 ? true : undefined),
        20_000,
        'the event in the dead-letter queue',
      );
      const ch = await connection.acquire();
      const message = await ch.basicGet({ queue: deadLetterQueue, noAck: true });
      await ch.close();
      assert.match(String(message?.headers?.['x-wallet-reason']), /^balance_mismatch: /, 'the reason travels with the dead letter');
    } finally {
      await connection.close();
    }
    assert.ok(service.stats.rejected > rejectedBefore, 'the consumer refused it');
    assert.ok((await metricValue(service.app, 'balance_drifted_accounts')) >= 1, 'a refused event raises the drift metric');
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
    assert.equal((await infra.cache.getVersioned(cacheKey(anaAccount)))?.posted, '6900');
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
      assert.equal((await infra.cache.getVersioned(cacheKey(anaAccount)))?.sequence, '4');
    } finally {
      cache.broken = false;
    }
    await eventually(async () => ((await infra.cache.getVersioned(cacheKey(anaAccount)))?.sequence === '5' ? true : undefined), 10_000, 'the cache rewrite');
    assert.equal((await infra.cache.getVersioned(cacheKey(anaAccount)))?.posted, '7900');
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
    assert.equal(mine.posted, '0');
    assert.equal(mine.pending, '0');
    assert.equal(mine.overdraftLimit, '0');
    assert.equal(mine.sequence, '0');
  });

  test('a hold reserves (pending up, available down, posted unchanged); posting it releases the reservation and moves the money', async () => {
    const gina = randomUUID();
    const ginaAccount = randomUUID();
    const harryAccount = randomUUID();
    await publish(opened(ginaAccount, gina), opened(harryAccount, randomUUID()));
    await publish(created(ledger.book(settlement, ginaAccount, 1_000n, 'deposit')));
    await untilSequence(service.app, operator, ginaAccount, 1n);

    const reserved = ledger.hold(ginaAccount, harryAccount, 300n);
    await publish(holdEvent(reserved));
    const held = await untilSequence(service.app, operator, ginaAccount, 2n);
    assert.deepEqual([held.posted, held.pending, held.available], ['1000', '300', '700']);
    // The owner reads it from the cache, which holds the reservation and the limit too.
    const mine = await readBalance(service.app, ginaAccount, await issuer.userToken(gina));
    assert.deepEqual([mine.body.posted, mine.body.pending, mine.body.available], ['1000', '300', '700']);
    const cached = await infra.cache.getVersioned(cacheKey(ginaAccount));
    assert.deepEqual([cached?.sequence, cached?.posted, cached?.pending, cached?.overdraftLimit], ['2', '1000', '300', '0']);

    // Something the ledger refused moves nothing: ignored, never dead-lettered.
    const rejected: TransactionRejected = {
      attempt: { kind: 'post', fromAccountId: ginaAccount, toAccountId: harryAccount, amount: '900', currency: 'USD', reference: null, targetId: reserved.hold.id },
      code: 'hold_amount_exceeded',
      detail: 'The hold reserves 300',
      limit: null,
      initiatedBy: gina,
      rejectedAt: new Date().toISOString(),
    };
    await publish(envelope('transaction', eventTypes.transactionRejected, rejected));

    await publish(holdEvent(ledger.postHold(reserved.hold, 200n)));
    const posted = await untilSequence(service.app, operator, ginaAccount, 3n);
    assert.deepEqual([posted.posted, posted.pending, posted.available], ['800', '0', '800']);
    const harry = await untilSequence(service.app, operator, harryAccount, 1n);
    assert.deepEqual([harry.posted, harry.pending, harry.available], ['200', '0', '200']);
    assert.equal((await readBalance(service.app, ginaAccount, await issuer.userToken(gina))).body.available, '800');

    // A voided hold gives the reservation back; the history keeps every step with its reservation.
    const second = ledger.hold(ginaAccount, harryAccount, 50n);
    await publish(holdEvent(second), holdEvent(ledger.releaseHold(second.hold, 'voided')));
    const voided = await untilSequence(service.app, operator, ginaAccount, 5n);
    assert.deepEqual([voided.posted, voided.pending, voided.available], ['800', '0', '800']);
    const { rows } = await infra.db.query<{ sequence: bigint; amount: bigint; balance_after: bigint; pending_amount: bigint; pending_after: bigint; transfer_id: string }>(
      'SELECT sequence, amount, balance_after, pending_amount, pending_after, transfer_id FROM balance.entries WHERE account_id = $1 ORDER BY sequence',
      [ginaAccount],
    );
    assert.deepEqual(
      rows.map((r) => [r.sequence, r.amount, r.balance_after, r.pending_amount, r.pending_after]),
      [
        [1n, 1000n, 1000n, 0n, 0n],
        [2n, 0n, 1000n, 300n, 300n],
        [3n, -200n, 800n, -300n, 0n],
        [4n, 0n, 800n, 50n, 50n],
        [5n, 0n, 800n, -50n, 0n],
      ],
    );
    assert.equal(rows[1]!.transfer_id, reserved.hold.id, "the reservation belongs to the hold");
    assert.notEqual(rows[2]!.transfer_id, reserved.hold.id, 'the capture belongs to its transfer');
    assert.equal(await countEntries(infra.db, harryAccount), 1);
  });

  test('a hold step that overtook the reservation is repaired from the ledger, reservation included', async () => {
    const ivyAccount = randomUUID();
    const jackAccount = randomUUID();
    await publish(opened(ivyAccount, randomUUID()), opened(jackAccount, randomUUID()));
    await publish(created(ledger.book(settlement, ivyAccount, 500n, 'deposit')));
    await untilSequence(service.app, operator, ivyAccount, 1n);
    const reserved = ledger.hold(ivyAccount, jackAccount, 120n); // never delivered
    const repairedBefore = service.stats.repaired;
    await publish(holdEvent(ledger.postHold(reserved.hold)));
    const ivy = await untilSequence(service.app, operator, ivyAccount, 3n);
    assert.deepEqual([ivy.posted, ivy.pending, ivy.available], ['380', '0', '380']);
    assert.ok(ledger.requests.includes(`/internal/accounts/${ivyAccount}/entries?afterSequence=1&limit=1`), ledger.requests.join('\n'));
    assert.equal(service.stats.repaired, repairedBefore + 1);
    const { rows } = await infra.db.query<{ pending_after: bigint; transfer_id: string }>('SELECT pending_after, transfer_id FROM balance.entries WHERE account_id = $1 AND sequence = 2', [ivyAccount]);
    assert.deepEqual(rows, [{ pending_after: 120n, transfer_id: reserved.hold.id }]);
  });

  test('a higher overdraft limit raises available at once, from the cache too; an older change arriving late does not undo it', async () => {
    const kim = randomUUID();
    const kimAccount = randomUUID();
    const openedAt = new Date(Date.now() - 60_000).toISOString();
    await publish(opened(kimAccount, kim, '100', openedAt));
    await publish(created(ledger.book(settlement, kimAccount, 1_000n, 'deposit')));
    await publish(holdEvent(ledger.hold(kimAccount, settlement, 400n)));
    const before = await untilSequence(service.app, operator, kimAccount, 2n);
    assert.deepEqual([before.posted, before.pending, before.overdraftLimit, before.available], ['1000', '400', '100', '700']);
    const kimToken = await issuer.userToken(kim);
    assert.equal((await readBalance(service.app, kimAccount, kimToken)).body.available, '700');

    const raisedAt = new Date().toISOString();
    const limitsBefore = service.stats.limitsChanged;
    await publish(limits(limitsChanged(kimAccount, kim, '2500', raisedAt)));
    const raised = await eventually(async () => {
      // The owner's read comes from the cache: the change must have replaced the copy of the same sequence.
      const answer = await readBalance(service.app, kimAccount, kimToken);
      return answer.body.overdraftLimit === '2500' ? answer.body : undefined;
    }, 15_000, 'the raised limit');
    assert.deepEqual([raised.posted, raised.pending, raised.available, raised.sequence], ['1000', '400', '3100', '2']);
    assert.equal((await infra.cache.getVersioned(cacheKey(kimAccount)))?.overdraftLimit, '2500');
    assert.equal(raised.updatedAt, raisedAt, 'the balance changed when the limit did');

    // A change made before the one applied, delivered after it: stale, changes nothing.
    await publish(limits(limitsChanged(kimAccount, kim, '0', new Date(Date.now() - 30_000).toISOString())));
    await eventually(async () => (service.stats.limitsChanged >= limitsBefore + 2 ? true : undefined), 15_000, 'the stale change');
    assert.equal((await readBalance(service.app, kimAccount, kimToken)).body.available, '3100');
    assert.equal((await findBalance(infra.db, kimAccount))?.overdraftLimit, 2500n);
  });

  test('a limits change that overtakes account.opened is kept; the opening brings owner and currency, not its older limit', async () => {
    const lea = randomUUID();
    const leaAccount = randomUUID();
    const openedAt = new Date(Date.now() - 60_000).toISOString();
    await publish(limits(limitsChanged(leaAccount, lea, '5000', new Date(Date.now() - 1_000).toISOString())));
    await eventually(async () => ((await findBalance(infra.db, leaAccount))?.overdraftLimit === 5000n ? true : undefined), 15_000, 'the limit stored');
    // No currency, no owner, no entry yet: nobody reads it.
    assert.equal((await readBalance(service.app, leaAccount, operator)).status, 404);

    await publish(opened(leaAccount, lea, '0', openedAt));
    const mine = await eventually(async () => {
      const answer = await readBalance(service.app, leaAccount, await issuer.userToken(lea));
      return answer.status === 200 ? answer.body : undefined;
    }, 15_000, 'the opened account');
    assert.deepEqual([mine.currency, mine.posted, mine.overdraftLimit, mine.available, mine.sequence], ['USD', '0', '5000', '5000', '0']);
  });
});
