// Signing keys across replicas: created once when several start together, and a key added by
// another replica is found when a token names it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningService } from '@wallet/kit';
import { createTestInfra, needsInfra, type TestInfra } from '@wallet/testkit';
import { ensureSigningKey } from '../src/auth/keys.ts';
import { count, get, login, signUp, startAlias, testEnv } from './helpers.ts';

describe('signing keys', await needsInfra(), () => {
  let infra: TestInfra;
  const replicas: RunningService[] = [];

  before(async () => {
    infra = await createTestInfra();
  });
  after(async () => {
    for (const replica of replicas) await replica.stop();
    await infra?.destroy();
  });

  test('replicas starting together on an empty database create exactly one key', async () => {
    const env = testEnv(infra, { SIGNING_KEYS_RELOAD_COOLDOWN_MS: '0' });
    replicas.push(...(await Promise.all([1, 2, 3].map(() => startAlias(infra, env)))));
    assert.equal(await count(infra, 'signing_keys'), 1);
    const sets = await Promise.all(replicas.map(async (r) => (await get(r, '/.well-known/jwks.json')).json<{ keys: { kid: string }[] }>()));
    assert.deepEqual(new Set(sets.map((s) => s.keys.map((k) => k.kid).join())).size, 1);
  });

  test('after a key rotation elsewhere, old replicas verify tokens signed with the new key', async () => {
    const [old] = replicas;
    assert.ok(old);
    await signUp(old, 'eva', 'Eva');
    const oldToken = (await login(old, 'eva')).access_token;

    // Rotate: retire the key and create the next one, as a future rotation job would.
    await infra.db.query(`UPDATE alias.signing_keys SET retired_at = now()`);
    await ensureSigningKey(infra.db);
    const fresh = await startAlias(infra, testEnv(infra));
    replicas.push(fresh);
    const newToken = (await login(fresh, 'eva')).access_token;

    assert.equal((await get(old, '/v1/me', newToken)).statusCode, 200);
    assert.equal((await get(fresh, '/v1/me', oldToken)).statusCode, 200, 'retired keys still verify');
    const published = (await get(fresh, '/.well-known/jwks.json')).json<{ keys: unknown[] }>();
    assert.equal(published.keys.length, 2);
  });
});
