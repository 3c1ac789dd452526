// Signing-key rotation against real PostgreSQL: the operator route, the publish delay, old tokens
// valid while their key is published, deletion after the grace, scheduled rotation; and the
// OpenID/OAuth metadata.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtectedHeader } from 'jose';
import type { RunningService } from '@wallet/kit';
import { createTestInfra, needsInfra, type TestInfra } from '@wallet/testkit';
import { assertProblem, get, signUp, startAlias, testEnv, tokenRequest, OPERATOR_ID, OPERATOR_SECRET } from './helpers.ts';
import { call, freshAddress, introspect, loginFrom, sleep } from './auth-helpers.ts';

interface KeyBody {
  kid: string;
  status: 'pending' | 'signing' | 'retired';
  signsFrom: string;
  retiredAt: string | null;
}

describe('signing-key rotation', await needsInfra(), () => {
  let infra: TestInfra;
  let alias: RunningService;
  let operator: string;

  before(async () => {
    infra = await createTestInfra();
    alias = await startAlias(infra, testEnv(infra, { SIGNING_KEY_PUBLISH_DELAY_SECONDS: '2', ACCESS_TOKEN_TTL_SECONDS: '60', SIGNING_KEY_RETIRED_MARGIN_SECONDS: '30' }));
    await signUp(alias, 'rita', 'Rita');
    operator = (await tokenRequest(alias, { grant_type: 'client_credentials', client_id: OPERATOR_ID, client_secret: OPERATOR_SECRET })).json<{ access_token: string }>().access_token;
  });
  after(async () => {
    await alias?.stop();
    await infra?.destroy();
  });

  const kidOf = (token: string) => decodeProtectedHeader(token).kid;
  const jwksKids = async () => (await get(alias, '/.well-known/jwks.json')).json<{ keys: { kid: string }[] }>().keys.map((k) => k.kid);
  const keys = async () => (await call(alias, 'GET', '/v1/admin/signing-keys', operator)).json<{ keys: KeyBody[] }>().keys;

  test('only the operator rotates', async () => {
    const user = await loginFrom(alias, 'rita', freshAddress());
    assertProblem(await call(alias, 'POST', '/v1/admin/signing-keys/rotate', user.access_token), 403, 'forbidden');
    assertProblem(await call(alias, 'GET', '/v1/admin/signing-keys', user.access_token), 403, 'forbidden');
    assertProblem(await call(alias, 'POST', '/v1/admin/signing-keys/rotate'), 401, 'unauthorized');
  });

  test('a new key is published at once, signs after the delay; old tokens stay valid', async () => {
    const before = await loginFrom(alias, 'rita', freshAddress());
    const oldKid = kidOf(before.access_token);
    assert.deepEqual(await jwksKids(), [oldKid]);

    const rotated = await call(alias, 'POST', '/v1/admin/signing-keys/rotate', operator);
    assert.equal(rotated.statusCode, 201, rotated.body);
    const next = rotated.json<KeyBody>();
    assert.equal(next.status, 'pending');
    assert.notEqual(next.kid, oldKid);
    // A second rotation while one is under way returns the same pending key.
    const again = await call(alias, 'POST', '/v1/admin/signing-keys/rotate', operator);
    assert.equal(again.statusCode, 200);
    assert.equal(again.json<KeyBody>().kid, next.kid);

    // Published before it signs: verifiers can fetch it first.
    assert.deepEqual((await jwksKids()).sort(), [oldKid, next.kid].sort());
    const during = await loginFrom(alias, 'rita', freshAddress());
    assert.equal(kidOf(during.access_token), oldKid);
    assert.deepEqual(
      (await keys()).map((k) => [k.kid, k.status]),
      [
        [next.kid, 'pending'],
        [oldKid, 'signing'],
      ],
    );

    await sleep(Date.parse(next.signsFrom) - Date.now() + 100);
    const after = await loginFrom(alias, 'rita', freshAddress());
    assert.equal(kidOf(after.access_token), next.kid);
    const listed = await keys();
    assert.deepEqual(listed.map((k) => [k.kid, k.status]), [
      [next.kid, 'signing'],
      [oldKid, 'retired'],
    ]);
    assert.equal(listed[1]!.retiredAt, next.signsFrom);

    // Tokens of the old key are still valid, here and at introspection; refreshing moves to the new key.
    for (const token of [before.access_token, during.access_token]) {
      assert.equal((await call(alias, 'GET', '/v1/me', token)).statusCode, 200);
      assert.equal((await introspect(alias, token)).json<{ active: boolean }>().active, true);
    }
    const refreshed = await tokenRequest(alias, { grant_type: 'refresh_token', refresh_token: before.refresh_token });
    assert.equal(kidOf(refreshed.json<{ access_token: string }>().access_token), next.kid);
  });

  test('a retired key is removed once its tokens have expired (access TTL + margin), private key included', async () => {
    const [signing, retired] = await keys();
    assert.ok(signing && retired);
    // Its grace here is 60 s + 30 s: move its retirement back past that.
    await infra.db.query(`UPDATE alias.signing_keys SET retired_at = now() - interval '91 seconds' WHERE kid = $1`, [retired.kid]);
    const another = await startAlias(infra, testEnv(infra, { AUTH_HOUSEKEEPING_INTERVAL_MS: '100', ACCESS_TOKEN_TTL_SECONDS: '60', SIGNING_KEY_RETIRED_MARGIN_SECONDS: '30' }));
    try {
      for (let i = 0; i < 50 && (await infra.db.query(`SELECT 1 FROM alias.signing_keys WHERE kid = $1`, [retired.kid])).rowCount > 0; i++) await sleep(100);
      assert.equal((await infra.db.query(`SELECT 1 FROM alias.signing_keys WHERE kid = $1`, [retired.kid])).rowCount, 0);
      assert.deepEqual((await get(another, '/.well-known/jwks.json')).json<{ keys: { kid: string }[] }>().keys.map((k) => k.kid), [signing.kid]);
    } finally {
      await another.stop();
    }
  });

  test('scheduled rotation: a key older than SIGNING_KEY_ROTATION_DAYS is replaced by the housekeeping', async () => {
    const [current] = await keys();
    assert.ok(current);
    await infra.db.query(`UPDATE alias.signing_keys SET signs_from = now() - interval '2 days', created_at = now() - interval '2 days'`);
    const scheduled = await startAlias(
      infra,
      testEnv(infra, { AUTH_HOUSEKEEPING_INTERVAL_MS: '100', SIGNING_KEY_ROTATION_DAYS: '1', SIGNING_KEY_PUBLISH_DELAY_SECONDS: '0' }),
    );
    try {
      let kids: string[] = [];
      for (let i = 0; i < 50; i++) {
        kids = (await infra.db.query<{ kid: string }>(`SELECT kid FROM alias.signing_keys ORDER BY signs_from DESC`)).rows.map((r) => r.kid);
        if (kids.length === 2) break;
        await sleep(100);
      }
      assert.equal(kids.length, 2);
      assert.equal(kids[1], current.kid);
      const token = await loginFrom(scheduled, 'rita', freshAddress());
      assert.equal(kidOf(token.access_token), kids[0]);
      assert.equal((await call(scheduled, 'GET', '/v1/me', token.access_token)).statusCode, 200);
      await sleep(300);
      assert.equal((await infra.db.query(`SELECT 1 FROM alias.signing_keys`)).rowCount, 2, 'rotated once, not on every run');
    } finally {
      await scheduled.stop();
    }
  });
});

describe('authorization server metadata', await needsInfra(), () => {
  let infra: TestInfra;
  let alias: RunningService;

  before(async () => {
    infra = await createTestInfra();
    alias = await startAlias(infra, testEnv(infra, { GATEWAY_URL: 'https://wallet.example' }));
  });
  after(async () => {
    await alias?.stop();
    await infra?.destroy();
  });

  test('GET /.well-known/openid-configuration', async () => {
    const response = await get(alias, '/.well-known/openid-configuration');
    assert.equal(response.statusCode, 200);
    const body = response.json<Record<string, unknown>>();
    assert.equal(body.issuer, 'wallet');
    assert.equal(body.jwks_uri, 'https://wallet.example/.well-known/jwks.json');
    assert.equal(body.token_endpoint, 'https://wallet.example/v1/auth/token');
    assert.equal(body.revocation_endpoint, 'https://wallet.example/v1/auth/revoke');
    assert.equal(body.introspection_endpoint, 'https://wallet.example/v1/auth/introspect');
    assert.deepEqual(body.grant_types_supported, ['password', 'refresh_token', 'client_credentials']);
    assert.deepEqual(body.id_token_signing_alg_values_supported, ['ES256']);
    assert.ok((body.token_endpoint_auth_methods_supported as string[]).includes('client_secret_basic'));
    assert.deepEqual(body.scopes_supported, ['wallet:user', 'wallet:operator', 'wallet:internal']);
  });

  test('every new route is in the OpenAPI document with a summary', async () => {
    const doc = (await get(alias, '/openapi.json')).json<{ paths: Record<string, Record<string, { summary?: string }>> }>();
    const expected: [string, string][] = [
      ['/v1/auth/token', 'post'],
      ['/v1/auth/revoke', 'post'],
      ['/v1/auth/introspect', 'post'],
      ['/.well-known/openid-configuration', 'get'],
      ['/v1/admin/signing-keys', 'get'],
      ['/v1/admin/signing-keys/rotate', 'post'],
      ['/v1/me', 'get'],
      ['/v1/me', 'patch'],
      ['/v1/me/password', 'post'],
      ['/v1/me/totp', 'get'],
      ['/v1/me/totp', 'post'],
      ['/v1/me/totp/confirm', 'post'],
      ['/v1/me/totp/disable', 'post'],
      ['/v1/me/sessions', 'get'],
      ['/v1/me/sessions/revoke', 'post'],
    ];
    for (const [path, method] of expected) assert.ok(doc.paths[path]?.[method]?.summary, `${method.toUpperCase()} ${path}`);
  });
});
