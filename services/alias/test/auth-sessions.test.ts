// Sessions against real PostgreSQL: revocation (RFC 7009), introspection (RFC 7662), logout
// everywhere, the session list, and refresh-token reuse ending the whole session.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningService } from '@wallet/kit';
import { createTestInfra, needsInfra, TEST_INTERNAL_SECRET, type TestInfra } from '@wallet/testkit';
import { assertProblem, OPERATOR_ID, OPERATOR_SECRET, serviceToken, signUp, startAlias, testEnv, tokenRequest } from './helpers.ts';
import { basic, call, form, freshAddress, introspect, loginFrom, type TokenPair } from './auth-helpers.ts';

describe('sessions, revocation and introspection', await needsInfra(), () => {
  let infra: TestInfra;
  let alias: RunningService;
  let userId: string;

  before(async () => {
    infra = await createTestInfra();
    alias = await startAlias(infra, testEnv(infra));
    userId = (await signUp(alias, 'mara', 'Mara Lima')).id;
    await signUp(alias, 'nuno', 'Nuno Reis');
  });
  after(async () => {
    await alias?.stop();
    await infra?.destroy();
  });

  const login = (handle = 'mara') => loginFrom(alias, handle, freshAddress());
  const refresh = (token: string) => tokenRequest(alias, { grant_type: 'refresh_token', refresh_token: token });
  const me = (token: string) => call(alias, 'GET', '/v1/me', token);
  const active = async (token: string, hint?: string) => {
    const response = await introspect(alias, token, hint);
    assert.equal(response.statusCode, 200, response.body);
    return response.json<Record<string, unknown>>();
  };

  test('introspection of an access token: RFC 7662 members', async () => {
    const tokens = await login();
    const claims = await active(tokens.access_token);
    assert.equal(claims.active, true);
    assert.equal(claims.sub, userId);
    assert.equal(claims.scope, 'wallet:user');
    assert.equal(claims.token_type, 'Bearer');
    assert.equal(claims.iss, 'wallet');
    assert.equal(claims.aud, 'wallet-api');
    assert.equal(claims.client_id, undefined);
    assert.equal(typeof claims.exp, 'number');
    assert.equal(typeof claims.iat, 'number');
    assert.equal((claims.exp as number) - (claims.iat as number), 900);
    assert.match(String(claims.sid), /^[0-9a-f-]{36}$/);

    const svc = await serviceToken(alias);
    const service = await active(svc);
    assert.deepEqual([service.active, service.sub, service.client_id, service.scope], [true, 'svc-transaction', 'svc-transaction', 'wallet:internal']);
    assert.equal(service.sid, undefined);
  });

  test('introspection of refresh tokens: active while unspent and the session lives', async () => {
    const tokens = await login();
    const live = await active(tokens.refresh_token);
    assert.deepEqual([live.active, live.sub, live.token_type, live.scope], [true, userId, 'refresh_token', 'wallet:user']);
    assert.equal(live.sid, (await active(tokens.access_token)).sid);
    const next = (await refresh(tokens.refresh_token)).json<TokenPair>();
    assert.deepEqual(await active(tokens.refresh_token), { active: false });
    assert.equal((await active(next.refresh_token)).active, true);
    // The hint only says where to look first.
    assert.equal((await active(next.refresh_token, 'access_token')).active, true);
    assert.equal((await active(next.access_token, 'refresh_token')).active, true);
  });

  test('unknown, malformed, forged and expired tokens are inactive', async () => {
    for (const token of ['made-up', 'a.b.c', 'x'.repeat(500)]) assert.deepEqual(await active(token), { active: false });
    const tokens = await login();
    const [header, payload, signature] = tokens.access_token.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), scope: 'wallet:operator' })).toString('base64url')}.${signature}`;
    assert.deepEqual(await active(forged), { active: false });
  });

  test('introspection is for services and the operator, authenticated as clients or with their tokens', async () => {
    const tokens = await login();
    const post = (headers: Record<string, string>, extra: Record<string, string> = {}) => form(alias, '/v1/auth/introspect', { token: tokens.access_token, ...extra }, headers);
    assertProblem(await post({}), 401, 'invalid_client');
    assertProblem(await post({ authorization: basic('svc-transaction', 'wrong') }), 401, 'invalid_client');
    assertProblem(await post({}, { client_id: 'svc-account' }), 401, 'invalid_client');
    const asUser = assertProblem(await post({ authorization: `Bearer ${tokens.access_token}` }), 403, 'forbidden') as Record<string, unknown>;
    assert.equal(asUser.error, 'insufficient_scope');
    assertProblem(await post({ authorization: 'Bearer not-a-token' }), 401, 'unauthorized');
    assert.equal((await post({ authorization: basic(OPERATOR_ID, OPERATOR_SECRET) })).json<{ active: boolean }>().active, true);
    assert.equal((await post({}, { client_id: 'svc-balance', client_secret: TEST_INTERNAL_SECRET })).json<{ active: boolean }>().active, true);
    assert.equal((await post({ authorization: `Bearer ${await serviceToken(alias, 'svc-gateway')}` })).json<{ active: boolean }>().active, true);
  });

  test('revoking a refresh token ends its session: its refresh tokens and access tokens', async () => {
    const tokens = await login();
    const other = await login();
    const rotated = (await refresh(tokens.refresh_token)).json<TokenPair>();
    const revoked = await form(alias, '/v1/auth/revoke', { token: rotated.refresh_token, token_type_hint: 'refresh_token' });
    assert.equal(revoked.statusCode, 200, revoked.body);
    assert.equal(revoked.headers['cache-control'], 'no-store');
    assertProblem(await refresh(rotated.refresh_token), 400, 'invalid_grant');
    for (const access of [tokens.access_token, rotated.access_token]) {
      assert.deepEqual(await active(access), { active: false });
      const refused = assertProblem(await me(access), 401, 'unauthorized') as Record<string, unknown>;
      assert.equal(refused.detail, 'The access token is not valid');
    }
    // Another login is another session.
    assert.equal((await me(other.access_token)).statusCode, 200);
    assert.equal((await refresh(other.refresh_token)).statusCode, 200);
  });

  test('revoking an access token: refused here and inactive, until it expires', async () => {
    const tokens = await login();
    const revoked = await form(alias, '/v1/auth/revoke', { token: tokens.access_token });
    assert.equal(revoked.statusCode, 200);
    assert.deepEqual(await active(tokens.access_token), { active: false });
    assertProblem(await me(tokens.access_token), 401, 'unauthorized');
    // Its session lives on: the refresh token still works.
    const next = (await refresh(tokens.refresh_token)).json<TokenPair>();
    assert.equal((await me(next.access_token)).statusCode, 200);
    const { rows } = await infra.db.query<{ expiresAt: Date }>(`SELECT expires_at AS "expiresAt" FROM alias.revoked_access_tokens`);
    assert.ok(rows.every((r) => r.expiresAt.getTime() <= Date.now() + 900_000 + 1000));
  });

  test('revocation answers 200 for unknown tokens; wrong client credentials are 401; JSON works too', async () => {
    for (const token of ['unknown', 'a.b.c', 'eyJhbGciOiJub25lIn0.e30.']) {
      const response = await form(alias, '/v1/auth/revoke', { token });
      assert.equal(response.statusCode, 200, response.body);
      assert.deepEqual(response.json(), {});
    }
    const json = await alias.app.inject({ method: 'POST', url: '/v1/auth/revoke', payload: { token: 'unknown', token_type_hint: 'weird' } });
    assert.equal(json.statusCode, 200);
    assertProblem(await form(alias, '/v1/auth/revoke', { token: 'x' }, { authorization: basic('svc-account', 'wrong') }), 401, 'invalid_client');
    assert.equal((await form(alias, '/v1/auth/revoke', { token: 'x' }, { authorization: basic('svc-account', TEST_INTERNAL_SECRET) })).statusCode, 200);
    assertProblem(await form(alias, '/v1/auth/revoke', {}), 400, 'validation_failed');
  });

  test('a client token can be revoked too', async () => {
    const svc = await serviceToken(alias, 'svc-account');
    assert.equal((await form(alias, '/v1/auth/revoke', { token: svc, token_type_hint: 'access_token' })).statusCode, 200);
    assert.deepEqual(await active(svc), { active: false });
    assertProblem(await call(alias, 'GET', '/internal/aliases/mara', svc), 401, 'unauthorized');
  });

  test('refresh-token reuse ends the whole session, access tokens included', async () => {
    const first = await login();
    const second = (await refresh(first.refresh_token)).json<TokenPair>();
    assertProblem(await refresh(first.refresh_token), 400, 'invalid_grant');
    assertProblem(await refresh(second.refresh_token), 400, 'invalid_grant');
    assert.deepEqual(await active(second.access_token), { active: false });
    assertProblem(await me(second.access_token), 401, 'unauthorized');
  });

  test('sessions are listed, and logout everywhere ends them all (only the caller\'s)', async () => {
    const a = await login();
    const b = await login();
    const theirs = await login('nuno');
    const listed = await call(alias, 'GET', '/v1/me/sessions', a.access_token);
    assert.equal(listed.statusCode, 200, listed.body);
    const sessions = listed.json<{ sessions: { id: string; current: boolean; lastUsedAt: string | null }[] }>().sessions;
    assert.ok(sessions.length >= 2);
    assert.equal(sessions.filter((s) => s.current).length, 1);
    assert.equal(sessions.find((s) => s.current)!.id, (await active(a.access_token)).sid);

    const out = await call(alias, 'POST', '/v1/me/sessions/revoke', b.access_token);
    assert.equal(out.statusCode, 200, out.body);
    assert.equal(out.json<{ revoked: number }>().revoked, sessions.length);
    for (const pair of [a, b]) {
      assertProblem(await refresh(pair.refresh_token), 400, 'invalid_grant');
      assert.deepEqual(await active(pair.access_token), { active: false });
      assertProblem(await me(pair.access_token), 401, 'unauthorized');
    }
    assert.equal((await me(theirs.access_token)).statusCode, 200);
    assert.equal((await refresh(theirs.refresh_token)).statusCode, 200);
    // Logging in again starts afresh.
    const again = await login();
    assert.equal((await call(alias, 'GET', '/v1/me/sessions', again.access_token)).json<{ sessions: unknown[] }>().sessions.length, 1);
  });

  test('client tokens have no sessions', async () => {
    assertProblem(await call(alias, 'POST', '/v1/me/sessions/revoke', await serviceToken(alias)), 403, 'forbidden');
  });
});
