// Alias resolution fed by account events on the real broker; the internal route for services.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventTypes, type AccountOpened, type AccountStatusChanged } from '@wallet/contracts';
import { envelope, type RunningService } from '@wallet/kit';
import { createTestInfra, eventually, needsInfra, type TestInfra } from '@wallet/testkit';
import { assertProblem, count, get, login, serviceToken, signUp, startAlias, testEnv } from './helpers.ts';

function opened(ownerId: string, currency: string, overrides: Partial<AccountOpened> = {}): AccountOpened {
  return {
    accountId: randomUUID(),
    ownerId,
    currency,
    type: 'user',
    status: 'active',
    name: `${currency} wallet`,
    overdraftLimit: '0',
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}

describe('aliases', await needsInfra(), () => {
  let infra: TestInfra;
  let alias: RunningService;
  let userToken: string;
  let ana: { id: string };

  before(async () => {
    infra = await createTestInfra();
    // These tests poll lookups until events arrive: the lookup budget has its own tests (aliases-directory).
    alias = await startAlias(infra, testEnv(infra, { ALIAS_LOOKUP_BUCKET_CAPACITY: '1000000', ALIAS_LOOKUP_REFILL_PER_MINUTE: '1000000' }));
    ana = await signUp(alias, 'Ana.P', 'Ana Paula Pereira');
    userToken = (await login(alias, 'ana.p')).access_token;
  });
  after(async () => {
    await alias?.stop();
    await infra?.destroy();
  });

  const resolved = (url: string, token = userToken) =>
    eventually(async () => {
      const response = await get(alias, url, token);
      return response.statusCode === 200 ? response.json<Record<string, string>>() : undefined;
    }, 10_000, url);

  test('an alias without an account is not payable: 404 alias_not_found, like an unknown one', async () => {
    const noAccount = assertProblem(await get(alias, '/v1/aliases/@ana.p', userToken), 404, 'alias_not_found');
    const unknown = assertProblem(await get(alias, '/v1/aliases/@nobody_at_all', userToken), 404, 'alias_not_found');
    const garbage = assertProblem(await get(alias, `/v1/aliases/${encodeURIComponent('no such thing!')}`, userToken), 404, 'alias_not_found');
    assert.deepEqual(noAccount, unknown);
    assert.deepEqual(unknown, garbage);
  });

  test('account.opened on the bus links the account; the alias resolves with a masked name', async () => {
    const usd = opened(ana.id, 'USD');
    await infra.bus.publish([envelope('account', eventTypes.accountOpened, usd)]);
    const body = await resolved('/v1/aliases/@ana.p?currency=USD');
    assert.deepEqual(body, { alias: '@Ana.P', type: 'handle', displayName: 'Ana P.', accountId: usd.accountId, currency: 'USD' });
    // Without @, any casing, without a currency: the first linked account.
    assert.deepEqual((await get(alias, '/v1/aliases/ANA.P', userToken)).json(), body);
    // Another currency the user has no account in: not payable.
    assertProblem(await get(alias, '/v1/aliases/ana.p?currency=EUR', userToken), 404, 'alias_not_found');
    assertProblem(await get(alias, '/v1/aliases/ana.p?currency=usd', userToken), 400, 'validation_failed');

    // A second USD account does not take over; a EUR account links for EUR only.
    const usd2 = opened(ana.id, 'USD');
    const eur = opened(ana.id, 'EUR');
    await infra.bus.publish([envelope('account', eventTypes.accountOpened, usd2), envelope('account', eventTypes.accountOpened, eur)]);
    assert.equal((await resolved('/v1/aliases/ana.p?currency=EUR')).accountId, eur.accountId);
    assert.equal((await get(alias, '/v1/aliases/ana.p?currency=USD', userToken)).json<{ accountId: string }>().accountId, usd.accountId);
    assert.equal((await get(alias, '/v1/aliases/ana.p', userToken)).json<{ accountId: string }>().accountId, usd.accountId);

    // /v1/me/aliases lists the handle with both links.
    const mine = await get(alias, '/v1/me/aliases', userToken);
    assert.equal(mine.statusCode, 200);
    const [handle] = mine.json<{ aliases: { alias: string; type: string; verified: boolean; accounts: { currency: string; accountId: string }[] }[] }>().aliases;
    assert.equal(handle?.alias, '@Ana.P');
    assert.equal(handle?.type, 'handle');
    assert.equal(handle?.verified, true);
    assert.deepEqual(new Set(handle?.accounts.map((a) => `${a.currency}:${a.accountId}`)), new Set([`USD:${usd.accountId}`, `EUR:${eur.accountId}`]));

    // Closing the linked USD account hands the alias over to the other USD account.
    const closed: AccountStatusChanged = { accountId: usd.accountId, ownerId: ana.id, status: 'closed', previousStatus: 'active', changedAt: new Date().toISOString() };
    await infra.bus.publish([envelope('account', eventTypes.accountStatusChanged, closed)]);
    await eventually(async () => {
      const body = (await get(alias, '/v1/aliases/ana.p?currency=USD', userToken)).json<{ accountId?: string }>();
      return body.accountId === usd2.accountId ? true : undefined;
    }, 10_000, 'relink to the second USD account');
  });

  test('events are applied once; settlement accounts and malformed events are ignored', async () => {
    const bea = await signUp(alias, 'bea', 'Beatriz');
    const gbp = opened(bea.id, 'GBP');
    const event = envelope('account', eventTypes.accountOpened, gbp);
    const settlement = envelope('account', eventTypes.accountOpened, opened('system', 'GBP', { type: 'settlement' }));
    const malformed = envelope('account', eventTypes.accountOpened, { accountId: 'x' });
    const inboxBefore = await count(infra, 'inbox');
    await infra.bus.publish([settlement, malformed, event, event]);
    const body = await resolved('/v1/aliases/bea?currency=GBP');
    assert.equal(body.accountId, gbp.accountId);
    assert.equal(body.displayName, 'Be***');
    // A later, different event proves the queue got past the duplicates.
    const marker = opened(bea.id, 'JPY');
    await infra.bus.publish([event, envelope('account', eventTypes.accountOpened, marker)]);
    await resolved('/v1/aliases/bea?currency=JPY');
    assert.equal(await count(infra, 'inbox'), inboxBefore + 3);
    assert.equal((await infra.db.query(`SELECT 1 FROM alias.alias_accounts WHERE account_id = $1`, [gbp.accountId])).rowCount, 1);
    assert.equal((await infra.db.query(`SELECT 1 FROM alias.accounts WHERE user_id = 'system'`).catch(() => ({ rowCount: 0 }))).rowCount, 0);
    assert.equal(await count(infra, 'accounts'), 5);
  });

  test('the internal route answers services and refuses user tokens', async () => {
    const svc = await serviceToken(alias, 'svc-transaction');
    const response = await get(alias, '/internal/aliases/@ANA.P?currency=EUR', svc);
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json<Record<string, string>>();
    assert.deepEqual(Object.keys(body).sort(), ['accountId', 'alias', 'currency', 'userId']);
    assert.equal(body.userId, ana.id);
    assert.equal(body.currency, 'EUR');

    assertProblem(await get(alias, '/internal/aliases/ana.p', userToken), 403, 'forbidden');
    assertProblem(await get(alias, '/internal/aliases/ana.p'), 401, 'unauthorized');
    assertProblem(await get(alias, '/internal/aliases/nobody_at_all', svc), 404, 'alias_not_found');
  });

  test('lookups need a token; bad parameters are 400s', async () => {
    assertProblem(await get(alias, '/v1/aliases/ana.p'), 401, 'unauthorized');
    // Longer than Fastify's router allows for a path parameter (100): refused before our schema.
    const long = await get(alias, `/v1/aliases/${'a'.repeat(400)}`, userToken);
    assert.ok(long.statusCode >= 400 && long.statusCode < 500, String(long.statusCode));
    assertProblem(await get(alias, '/v1/aliases/ana.p?currency=DOLLARS', userToken), 400, 'validation_failed');
  });
});
