// The same service on the embedded infrastructure: PGlite, the in-process bus and cache.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventTypes, type AccountOpened } from '@wallet/contracts';
import { createMemoryBus, createMemoryCache, createPgliteDb, envelope, openPglite, type Infra, type RunningService } from '@wallet/kit';
import { eventually } from '@wallet/testkit';
import { get, login, serviceToken, signUp, startAlias, testEnv } from './helpers.ts';

describe('embedded mode', () => {
  let pglite: Awaited<ReturnType<typeof openPglite>>;
  let infra: Infra;
  let alias: RunningService;

  before(async () => {
    pglite = await openPglite(undefined);
    infra = { db: createPgliteDb(pglite), bus: createMemoryBus({ warn: () => undefined, error: () => undefined }), cache: createMemoryCache() };
    alias = await startAlias(infra, testEnv({ env: { WALLET_MODE: 'embedded', LOG_LEVEL: 'silent' } }));
  });
  after(async () => {
    await alias?.stop();
    await infra?.bus.close();
    await pglite?.close();
  });

  test('sign-up, login, refresh, account linking and resolution work on PGlite', async () => {
    const user = await signUp(alias, 'Fabio', 'Fabio Costa');
    const tokens = await login(alias, '@fabio');
    const refreshed = await alias.app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'refresh_token', refresh_token: tokens.refresh_token } });
    assert.equal(refreshed.statusCode, 200, refreshed.body);

    const account: AccountOpened = {
      accountId: randomUUID(), ownerId: user.id, currency: 'BRL', type: 'user', status: 'active', name: 'BRL', overdraftLimit: '0', createdAt: new Date().toISOString(),
    };
    await infra.bus.publish([envelope('account', eventTypes.accountOpened, account)]);
    const svc = await serviceToken(alias);
    const resolved = await eventually(async () => {
      const response = await get(alias, '/internal/aliases/fabio?currency=BRL', svc);
      return response.statusCode === 200 ? response.json<Record<string, string>>() : undefined;
    });
    assert.deepEqual(resolved, { alias: '@Fabio', userId: user.id, accountId: account.accountId, currency: 'BRL' });
    const masked = await get(alias, '/v1/aliases/fabio', tokens.access_token);
    assert.equal(masked.json<{ displayName: string }>().displayName, 'Fabio C.');
  });
});
