// The OAuth2 token endpoint and the JWKS, against real PostgreSQL; tokens checked with jose.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { RunningService } from '@wallet/kit';
import { createTestInfra, needsInfra, TEST_INTERNAL_SECRET, type TestInfra } from '@wallet/testkit';
import { assertProblem, count, get, login, OPERATOR_ID, OPERATOR_SECRET, PASSWORD, signUp, startAlias, testEnv, tokenRequest } from './helpers.ts';

// These tests guess wrong passwords on purpose; login throttling has its own tests (auth-throttle.test.ts).
const noThrottle = { LOGIN_DELAY_AFTER_FAILURES: '1000', LOGIN_LOCK_AFTER_FAILURES: '1000', LOGIN_IP_DELAY_AFTER_FAILURES: '1000', LOGIN_IP_LOCK_AFTER_FAILURES: '1000' };

describe('tokens', await needsInfra(), () => {
  let infra: TestInfra;
  let alias: RunningService;
  let userId: string;
  let jwksUrl: URL;

  before(async () => {
    infra = await createTestInfra();
    alias = await startAlias(infra, testEnv(infra, noThrottle));
    await alias.app.listen({ host: '127.0.0.1', port: 0 });
    const address = alias.app.server.address();
    assert.ok(address && typeof address === 'object');
    jwksUrl = new URL(`http://127.0.0.1:${address.port}/.well-known/jwks.json`);
    userId = (await signUp(alias, 'Dora.Silva', 'Dora Silva')).id;
  });
  after(async () => {
    await alias?.stop();
    await infra?.destroy();
  });

  const verify = (token: string) => jwtVerify(token, createRemoteJWKSet(jwksUrl), { issuer: 'wallet', audience: 'wallet-api', algorithms: ['ES256'], typ: 'at+jwt' });

  test('JWKS publishes one ES256 public key, without its private part', async () => {
    const response = await get(alias, '/.well-known/jwks.json');
    assert.equal(response.statusCode, 200);
    const { keys } = response.json<{ keys: Record<string, string>[] }>();
    assert.equal(keys.length, 1);
    assert.deepEqual(Object.keys(keys[0]!).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    assert.equal(keys[0]!.alg, 'ES256');
    assert.equal(keys[0]!.use, 'sig');
    assert.equal(keys[0]!.crv, 'P-256');
    assert.match(String(response.headers['cache-control']), /max-age=/);
  });

  test('password grant: handle with or without @, any casing, form or JSON', async () => {
    for (const username of ['dora.silva', '@Dora.Silva', 'DORA.SILVA']) {
      const tokens = await login(alias, username);
      assert.equal(tokens.token_type, 'Bearer');
      assert.equal(tokens.expires_in, 900);
      assert.equal(tokens.scope, 'wallet:user');
      assert.match(tokens.refresh_token, /^[A-Za-z0-9_-]{43}$/);
      const { payload, protectedHeader } = await verify(tokens.access_token);
      assert.equal(protectedHeader.typ, 'at+jwt');
      assert.equal(protectedHeader.alg, 'ES256');
      assert.ok(protectedHeader.kid);
      assert.equal(payload.sub, userId);
      assert.equal(payload.scope, 'wallet:user');
      assert.equal(payload.client_id, undefined);
      assert.ok(payload.jti);
      assert.ok(payload.exp! - payload.iat! <= 900);
    }
    const json = await alias.app.inject({ method: 'POST', url: '/v1/auth/token', payload: { grant_type: 'password', username: 'dora.silva', password: PASSWORD } });
    assert.equal(json.statusCode, 200, json.body);
    assert.equal(json.headers['cache-control'], 'no-store');
    // The refresh token is stored hashed, never as given.
    const token = json.json<{ refresh_token: string }>().refresh_token;
    assert.equal((await infra.db.query(`SELECT 1 FROM alias.refresh_tokens WHERE token_hash = $1`, [token])).rowCount, 0);
  });

  test('wrong password and unknown user get the same invalid_grant', async () => {
    const wrongPassword = await tokenRequest(alias, { grant_type: 'password', username: 'dora.silva', password: 'wrong password!' });
    const unknownUser = await tokenRequest(alias, { grant_type: 'password', username: 'nobody_here', password: PASSWORD });
    const notAnAlias = await tokenRequest(alias, { grant_type: 'password', username: 'not an alias', password: PASSWORD });
    const bodies = [wrongPassword, unknownUser, notAnAlias].map((r) => {
      const body = assertProblem(r, 400, 'invalid_grant') as Record<string, unknown>;
      assert.equal(body.error, 'invalid_grant');
      return { detail: body.detail, title: body.title };
    });
    assert.deepEqual(bodies[0], bodies[1]);
    assert.deepEqual(bodies[1], bodies[2]);

    // Both paths verify one argon2 hash: their times are of the same order.
    const time = async (username: string) => {
      const started = performance.now();
      await tokenRequest(alias, { grant_type: 'password', username, password: 'wrong password!' });
      return performance.now() - started;
    };
    await time('dora.silva');
    const known = Math.min(await time('dora.silva'), await time('dora.silva'), await time('dora.silva'));
    const unknown = Math.min(await time('nobody_here'), await time('nobody_here'), await time('nobody_here'));
    assert.ok(unknown > known / 3 && unknown < known * 3, `known ${known} ms, unknown ${unknown} ms`);
  });

  test('refresh rotates; a spent token revokes its whole family', async () => {
    const first = await login(alias, 'dora.silva');
    const other = await login(alias, 'dora.silva'); // another device: another family

    const second = await tokenRequest(alias, { grant_type: 'refresh_token', refresh_token: first.refresh_token });
    assert.equal(second.statusCode, 200, second.body);
    const rotated = second.json<{ access_token: string; refresh_token: string; scope: string }>();
    assert.notEqual(rotated.refresh_token, first.refresh_token);
    assert.equal((await verify(rotated.access_token)).payload.sub, userId);

    const third = await tokenRequest(alias, { grant_type: 'refresh_token', refresh_token: rotated.refresh_token });
    assert.equal(third.statusCode, 200);
    const latest = third.json<{ refresh_token: string }>().refresh_token;

    // The first token again: reuse. It fails, and so does the newest token of its family.
    const reuse = await tokenRequest(alias, { grant_type: 'refresh_token', refresh_token: first.refresh_token });
    assert.equal((assertProblem(reuse, 400, 'invalid_grant') as Record<string, unknown>).error, 'invalid_grant');
    assertProblem(await tokenRequest(alias, { grant_type: 'refresh_token', refresh_token: latest }), 400, 'invalid_grant');

    // The other device's family is untouched.
    const otherRefresh = await tokenRequest(alias, { grant_type: 'refresh_token', refresh_token: other.refresh_token });
    assert.equal(otherRefresh.statusCode, 200);

    assertProblem(await tokenRequest(alias, { grant_type: 'refresh_token', refresh_token: 'made-up-token' }), 400, 'invalid_grant');
  });

  test('refresh tokens die with their family at its absolute lifetime', async () => {
    const tokens = await login(alias, 'dora.silva');
    await infra.db.query(`UPDATE alias.refresh_token_families SET expires_at = now() - interval '1 second' WHERE revoked_at IS NULL`);
    assertProblem(await tokenRequest(alias, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }), 400, 'invalid_grant');
  });

  test('client credentials: the operator and the services, in the form or with HTTP Basic', async () => {
    const operator = await tokenRequest(alias, { grant_type: 'client_credentials', client_id: OPERATOR_ID, client_secret: OPERATOR_SECRET });
    assert.equal(operator.statusCode, 200, operator.body);
    const operatorBody = operator.json<Record<string, unknown>>();
    assert.equal(operatorBody.scope, 'wallet:operator');
    assert.equal(operatorBody.refresh_token, undefined);
    const operatorClaims = (await verify(String(operatorBody.access_token))).payload;
    assert.equal(operatorClaims.sub, OPERATOR_ID);
    assert.equal(operatorClaims.client_id, OPERATOR_ID);
    assert.equal(operatorClaims.scope, 'wallet:operator');

    for (const service of ['svc-account', 'svc-transaction', 'svc-balance', 'svc-gateway']) {
      const basic = Buffer.from(`${service}:${encodeURIComponent(TEST_INTERNAL_SECRET)}`).toString('base64');
      const response = await tokenRequest(alias, { grant_type: 'client_credentials' }, { authorization: `Basic ${basic}` });
      assert.equal(response.statusCode, 200, response.body);
      const claims = (await verify(response.json<{ access_token: string }>().access_token)).payload;
      assert.deepEqual([claims.sub, claims.client_id, claims.scope], [service, service, 'wallet:internal']);
    }

    const narrowed = await tokenRequest(alias, { grant_type: 'client_credentials', client_id: 'svc-account', client_secret: TEST_INTERNAL_SECRET, scope: 'wallet:internal' });
    assert.equal(narrowed.statusCode, 200);
    const widened = await tokenRequest(alias, { grant_type: 'client_credentials', client_id: 'svc-account', client_secret: TEST_INTERNAL_SECRET, scope: 'wallet:operator' });
    assertProblem(widened, 400, 'invalid_scope');
  });

  test('wrong or missing client secrets answer invalid_client', async () => {
    const cases: Record<string, string>[] = [
      { client_id: OPERATOR_ID, client_secret: TEST_INTERNAL_SECRET },
      { client_id: 'svc-account', client_secret: OPERATOR_SECRET },
      { client_id: 'svc-account', client_secret: `${TEST_INTERNAL_SECRET}x` },
      { client_id: 'svc-alias', client_secret: TEST_INTERNAL_SECRET },
      { client_id: 'svc-account' },
    ];
    for (const fields of cases) {
      const body = assertProblem(await tokenRequest(alias, { grant_type: 'client_credentials', ...fields }), 401, 'invalid_client') as Record<string, unknown>;
      assert.equal(body.error, 'invalid_client');
    }
    const basic = Buffer.from(`svc-account:wrong`).toString('base64');
    const response = await tokenRequest(alias, { grant_type: 'client_credentials' }, { authorization: `Basic ${basic}` });
    assertProblem(response, 401, 'invalid_client');
    assert.match(String(response.headers['www-authenticate']), /^Basic/);
  });

  test('without operator configuration there is no operator client', async () => {
    const bare = await startAlias(infra, testEnv(infra, { ...noThrottle, OPERATOR_CLIENT_ID: '', OPERATOR_CLIENT_SECRET: '' }));
    try {
      assertProblem(await tokenRequest(bare, { grant_type: 'client_credentials', client_id: OPERATOR_ID, client_secret: OPERATOR_SECRET }), 401, 'invalid_client');
      // Same database, same signing key: tokens of one replica verify on the other.
      const tokens = await login(bare, 'dora.silva');
      assert.equal((await verify(tokens.access_token)).payload.sub, userId);
    } finally {
      await bare.stop();
    }
  });

  test('bad token requests: unsupported grant, missing fields, repeated parameters', async () => {
    const familiesBefore = await count(infra, 'refresh_token_families');
    const unsupported = assertProblem(await tokenRequest(alias, { grant_type: 'authorization_code', code: 'x' }), 400, 'unsupported_grant_type') as Record<string, unknown>;
    assert.equal(unsupported.error, 'unsupported_grant_type');
    const missing = assertProblem(await tokenRequest(alias, { grant_type: 'password', username: 'dora.silva' }), 400, 'validation_failed') as Record<string, unknown>;
    assert.equal(missing.error, 'invalid_request');
    assertProblem(await tokenRequest(alias, { username: 'dora.silva', password: PASSWORD }), 400, 'validation_failed');
    const repeated = await alias.app.inject({
      method: 'POST',
      url: '/v1/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=password&username=dora.silva&password=a&password=b',
    });
    assert.equal((assertProblem(repeated, 400, 'validation_failed') as Record<string, unknown>).error, 'invalid_request');
    const huge = await alias.app.inject({
      method: 'POST',
      url: '/v1/auth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=password&username=dora.silva&password=${'x'.repeat(10_000)}`,
    });
    assertProblem(huge, 413, 'payload_too_large');
    assertProblem(await alias.app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/json' }, payload: '{' }), 400, 'malformed_json');
    assert.equal(await count(infra, 'refresh_token_families'), familiesBefore);
  });

  test('the signing key verifies what the service issues and nothing else', async () => {
    const tokens = await login(alias, 'dora.silva');
    const jwks = (await get(alias, '/.well-known/jwks.json')).json<{ keys: { kid: string }[] }>();
    assert.equal(decodeProtectedHeader(tokens.access_token).kid, jwks.keys[0]!.kid);
    const [header, payload] = tokens.access_token.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'someone-else' })).toString('base64url')}.${tokens.access_token.split('.')[2]}`;
    await assert.rejects(verify(forged));
    assertProblem(await get(alias, '/v1/me', forged), 401, 'unauthorized');
    assert.equal((await get(alias, '/v1/me', tokens.access_token)).statusCode, 200);
  });
});
