// The routes other services call (wallet:internal), on real PostgreSQL, RabbitMQ and Redis.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestInfra, eventually, needsInfra, startTestIssuer, type TestInfra, type TestIssuer } from '@wallet/testkit';
import { openedEvents, startAccountService, type Harness } from './support.ts';

describe('account service internal routes', await needsInfra(), () => {
  let infra: TestInfra;
  let issuer: TestIssuer;
  let h: Harness;
  let operator: string;
  let service: string;

  before(async () => {
    infra = await createTestInfra();
    issuer = await startTestIssuer();
    h = await startAccountService(infra, infra.env, issuer);
    operator = await issuer.operatorToken();
    service = await issuer.serviceToken('transaction');
  });

  after(async () => {
    await h?.service.stop();
    await issuer?.close();
    await infra?.destroy();
  });

  test('GET /internal/accounts/{id} answers service tokens only', async () => {
    const userId = randomUUID();
    const user = await issuer.userToken(userId);
    const account = (await h.call('POST', '/v1/accounts', user, { currency: 'USD' })).body;

    for (const token of [user, operator]) {
      const refused = await h.call('GET', `/internal/accounts/${account.id}`, token);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.code, 'forbidden');
    }
    assert.equal((await h.call('GET', `/internal/accounts/${account.id}`)).status, 401);

    const found = await h.call('GET', `/internal/accounts/${account.id}`, service);
    assert.equal(found.status, 200);
    assert.deepEqual(found.body, account);
    assert.equal(found.body.tier, 'standard');

    // The transaction service reads the overdraft limit and the tier from here on a cache miss.
    const changed = await h.call('PUT', `/v1/accounts/${account.id}/limits`, operator, { overdraftLimit: '2500', tier: 'premium' });
    assert.equal(changed.status, 200);
    const after = await h.call('GET', `/internal/accounts/${account.id}`, service);
    assert.deepEqual(after.body, { ...account, overdraftLimit: '2500', tier: 'premium' });

    for (const id of [randomUUID(), 'not-a-uuid']) {
      const missing = await h.call('GET', `/internal/accounts/${id}`, service);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, 'account_not_found');
    }
  });

  test('PUT /internal/settlement-accounts/{currency} refuses people and operators and creates nothing', async () => {
    const user = await issuer.userToken(randomUUID());
    for (const token of [user, operator]) {
      const refused = await h.call('PUT', '/internal/settlement-accounts/EUR', token);
      assert.equal(refused.status, 403);
      assert.equal(refused.body.code, 'forbidden');
    }
    const { rows } = await infra.db.query(`SELECT 1 FROM account.accounts WHERE type = 'settlement' AND currency = 'EUR'`);
    assert.equal(rows.length, 0);
  });

  test('the settlement account is created once, even by 10 concurrent calls, and announced once', async () => {
    const replies = await Promise.all(Array.from({ length: 10 }, () => h.call('PUT', '/internal/settlement-accounts/USD', service)));
    for (const reply of replies) assert.equal(reply.status, 200);
    const ids = new Set(replies.map((r) => r.body.id));
    assert.equal(ids.size, 1);
    const account = replies[0]!.body;
    assert.equal(account.type, 'settlement');
    assert.equal(account.ownerId, 'system');
    assert.equal(account.name, 'USD settlement');
    assert.equal(account.status, 'active');
    assert.equal(account.currency, 'USD');
    assert.equal(account.overdraftLimit, '9223372036854775807');
    assert.equal(account.tier, 'standard');

    const { rows } = await infra.db.query<{ id: string }>(`SELECT id FROM account.accounts WHERE type = 'settlement' AND currency = 'USD'`);
    assert.deepEqual(rows.map((r) => r.id), [account.id]);

    const later = await h.call('PUT', '/internal/settlement-accounts/USD', service);
    assert.deepEqual(later.body, account);
    assert.deepEqual((await h.call('GET', `/internal/accounts/${account.id}`, service)).body, account);

    await eventually(async () => (openedEvents(h.events, account.id).length > 0 ? true : undefined), 10_000, 'account.opened for the settlement account');
    await eventually(async () => ((await infra.db.query('SELECT 1 FROM account.outbox')).rowCount === 0 ? true : undefined), 5000, 'an empty outbox');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const events = openedEvents(h.events, account.id);
    assert.equal(events.length, 1);
    assert.equal((events[0]?.data as { type: string }).type, 'settlement');
    assert.equal((events[0]?.data as { tier: string }).tier, 'standard');
  });

  test('each currency has its own settlement account; bad currencies are refused', async () => {
    const usd = await h.call('PUT', '/internal/settlement-accounts/USD', service);
    const jpy = await h.call('PUT', '/internal/settlement-accounts/JPY', service);
    assert.equal(jpy.status, 200);
    assert.equal(jpy.body.currency, 'JPY');
    assert.notEqual(jpy.body.id, usd.body.id);

    const unsupported = await h.call('PUT', '/internal/settlement-accounts/XAU', service);
    assert.equal(unsupported.status, 422);
    assert.equal(unsupported.body.code, 'unsupported_currency');
    const malformed = await h.call('PUT', '/internal/settlement-accounts/usd', service);
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.code, 'validation_failed');
    const { rows } = await infra.db.query(`SELECT 1 FROM account.accounts WHERE currency IN ('XAU', 'usd')`);
    assert.equal(rows.length, 0);
  });

  test('a settlement account is not a user-visible account of the caller', async () => {
    const settlement = (await h.call('PUT', '/internal/settlement-accounts/USD', service)).body;
    const user = await issuer.userToken(randomUUID());
    assert.equal((await h.call('GET', `/v1/accounts/${settlement.id}`, user)).status, 404);
    const listed = await h.call('GET', '/v1/accounts?ownerId=system', operator);
    assert.deepEqual(
      listed.body.items.map((a) => a.currency).sort(),
      ['JPY', 'USD'],
    );
  });
});
