// The same service on the embedded infrastructure: PGlite, the in-process bus and the memory cache.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createMemoryBus, createMemoryCache, createPgliteDb, openPglite, type Infra } from '@wallet/kit';
import { eventually, startTestIssuer, type TestIssuer } from '@wallet/testkit';
import { limitsEvents, openedEvents, startAccountService, statusEvents, type Harness } from './support.ts';

describe('account service, embedded', () => {
  let pglite: Awaited<ReturnType<typeof openPglite>>;
  let infra: Infra;
  let issuer: TestIssuer;
  let h: Harness;

  before(async () => {
    pglite = await openPglite(undefined);
    const log = { warn: () => undefined, error: () => undefined };
    infra = { db: createPgliteDb(pglite), bus: createMemoryBus(log), cache: createMemoryCache() };
    issuer = await startTestIssuer();
    h = await startAccountService(infra, { WALLET_MODE: 'embedded', LOG_LEVEL: 'silent' }, issuer);
  });

  after(async () => {
    await h?.service.stop();
    await issuer?.close();
    await infra?.bus.close();
    await pglite?.close();
  });

  test('opens, freezes, sets limits and announces accounts; settlement get-or-create holds under concurrency', async () => {
    const user = await issuer.userToken(randomUUID());
    const operator = await issuer.operatorToken();
    const service = await issuer.serviceToken('transaction');

    const opened = await h.call('POST', '/v1/accounts', user, { currency: 'BHD', name: 'Manama' });
    assert.equal(opened.status, 201);
    assert.equal(opened.body.tier, 'standard');
    assert.equal((await h.call('POST', `/v1/accounts/${opened.body.id}/freeze`, operator)).body.status, 'frozen');
    const limited = await h.call('PUT', `/v1/accounts/${opened.body.id}/limits`, operator, { overdraftLimit: '1000', tier: 'premium' });
    assert.equal(limited.status, 200);
    assert.deepEqual(limited.body, { ...opened.body, status: 'frozen', overdraftLimit: '1000', tier: 'premium' });

    const settlements = await Promise.all(Array.from({ length: 10 }, () => h.call('PUT', '/internal/settlement-accounts/BHD', service)));
    assert.equal(new Set(settlements.map((r) => r.body.id)).size, 1);

    await eventually(
      async () =>
        openedEvents(h.events, opened.body.id).length === 1 &&
        statusEvents(h.events, opened.body.id).length === 1 &&
        limitsEvents(h.events, opened.body.id).length === 1 &&
        openedEvents(h.events, settlements[0]!.body.id).length === 1
          ? true
          : undefined,
      5000,
      'the four events on the in-process bus',
    );
    assert.equal((await h.call('GET', '/readyz')).status, 200);
  });
});
