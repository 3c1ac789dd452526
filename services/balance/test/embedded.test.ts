// The balance service on embedded infrastructure (PGlite, in-process bus and cache): the same code
// the one-command start runs. Needs no servers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createMemoryBus, createMemoryCache, createPgliteDb, envelope, openPglite, type Bus, type EventEnvelope } from '@wallet/kit';
import { eventTypes, type HoldChanged, type TransactionCreated } from '@wallet/contracts';
import { eventually, startTestIssuer, type TestIssuer } from '@wallet/testkit';
import { createBalanceService, type BalanceService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { countEntries } from '../src/store/balances.ts';
import { accountOpened, limitsChanged, readBalance, settlementOpened, startFakeLedger, untilSequence, type FakeLedger } from './support.ts';

describe('balance service on embedded infrastructure', () => {
  let pglite: Awaited<ReturnType<typeof openPglite>>;
  let bus: Bus & { deadLetters: EventEnvelope[] };
  let issuer: TestIssuer;
  let ledger: FakeLedger;
  let service: BalanceService;
  let operator: string;
  const silent = { warn: () => undefined, error: () => undefined };

  const publish = (...events: EventEnvelope[]) => bus.publish(events);
  const created = (data: TransactionCreated) => envelope('transaction', eventTypes.transactionCreated, data);
  const holdEvent = (type: string, data: HoldChanged) => envelope('transaction', type, data);

  before(async () => {
    pglite = await openPglite(undefined);
    bus = createMemoryBus(silent);
    issuer = await startTestIssuer();
    ledger = await startFakeLedger();
    const config = loadConfig({ ...issuer.env, WALLET_MODE: 'embedded', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', TRANSACTION_URL: ledger.url });
    service = await createBalanceService(config, { db: createPgliteDb(pglite), bus, cache: createMemoryCache() });
    await service.app.ready();
    await service.start();
    operator = await issuer.operatorToken();
  });

  after(async () => {
    await service?.stop();
    await bus?.close();
    await ledger?.close();
    await issuer?.close();
    await pglite?.close();
  });

  test('applies events in order, repairs gaps, skips duplicates and dead-letters contradictions', async () => {
    const ana = randomUUID();
    const settlement = randomUUID();
    const anaAccount = randomUUID();
    const bobAccount = randomUUID();
    await publish(
      envelope('account', eventTypes.accountOpened, settlementOpened(settlement)),
      envelope('account', eventTypes.accountOpened, accountOpened(anaAccount, ana)),
      envelope('account', eventTypes.accountOpened, accountOpened(bobAccount, randomUUID())),
    );
    const deposit = ledger.book(settlement, anaAccount, 9_000n, 'deposit');
    const transfer = ledger.book(anaAccount, bobAccount, 4_000n);

    // Out of order, then the late one twice. The transfer is applied first (its gap filled from the
    // ledger); published together, one batch would have put them back in order without the ledger.
    await publish(created(transfer));
    await untilSequence(service.app, operator, bobAccount, 1n);
    await publish(created(deposit), created(deposit));
    assert.equal((await untilSequence(service.app, operator, settlement, 1n)).available, '-9000');
    const mine = await readBalance(service.app, anaAccount, await issuer.userToken(ana));
    assert.equal(mine.status, 200);
    assert.equal(mine.body.available, '5000');
    assert.equal(mine.body.sequence, '2');
    assert.equal((await readBalance(service.app, bobAccount, operator)).body.available, '4000');
    assert.equal(await countEntries(createPgliteDb(pglite), anaAccount), 2);
    await eventually(async () => (service.stats.duplicates >= 2 ? true : undefined), 5000, 'duplicates');
    assert.equal(service.stats.repaired, 1);

    const bad = structuredClone(ledger.book(anaAccount, bobAccount, 1n));
    bad.entries[0]!.balanceAfter = '4000';
    await publish(created(bad));
    await eventually(async () => (bus.deadLetters.length === 1 ? true : undefined), 5000, 'the dead letter');
    assert.equal((await readBalance(service.app, anaAccount, operator)).body.sequence, '2');
    // Bob's own entry is right: it applies when his account is in another partition than Ana's.
    assert.ok(['1', '2'].includes((await readBalance(service.app, bobAccount, operator)).body.sequence as string));
  });

  test('holds and limits: posted, pending and available', async () => {
    const owner = randomUUID();
    const settlement = randomUUID();
    const account = randomUUID();
    const payee = randomUUID();
    await publish(
      envelope('account', eventTypes.accountOpened, settlementOpened(settlement)),
      envelope('account', eventTypes.accountOpened, accountOpened(account, owner)),
      envelope('account', eventTypes.accountOpened, accountOpened(payee, randomUUID())),
    );
    await publish(created(ledger.book(settlement, account, 1_000n, 'deposit')));
    const reserved = ledger.hold(account, payee, 600n);
    await publish(holdEvent(eventTypes.holdCreated, reserved));
    const held = await untilSequence(service.app, operator, account, 2n);
    assert.deepEqual([held.posted, held.pending, held.available], ['1000', '600', '400']);

    await publish(envelope('account', eventTypes.accountLimitsChanged, limitsChanged(account, owner, '250')));
    const token = await issuer.userToken(owner);
    await eventually(async () => ((await readBalance(service.app, account, token)).body.available === '650' ? true : undefined), 5000, 'the new limit');

    await publish(holdEvent(eventTypes.holdExpired, ledger.releaseHold(reserved.hold, 'expired')));
    const released = await untilSequence(service.app, operator, account, 3n);
    assert.deepEqual([released.posted, released.pending, released.overdraftLimit, released.available], ['1000', '0', '250', '1250']);
    const settled = (await readBalance(service.app, settlement, operator)).body;
    assert.deepEqual([settled.posted, settled.available], ['-1000', '-1000']);
  });
});
