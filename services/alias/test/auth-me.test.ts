// The caller's own profile and password against real PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningService } from '@wallet/kit';
import { createTestInfra, needsInfra, type TestInfra } from '@wallet/testkit';
import { assertProblem, PASSWORD, serviceToken, signUp, startAlias, testEnv, tokenRequest } from './helpers.ts';
import { call, freshAddress, introspect, loginFrom, passwordGrant, type TokenPair } from './auth-helpers.ts';

describe('/v1/me', await needsInfra(), () => {
  let infra: TestInfra;
  let alias: RunningService;
  let userId: string;

  before(async () => {
    infra = await createTestInfra();
    alias = await startAlias(infra, testEnv(infra));
    userId = (await signUp(alias, 'Sara.M', 'Sara Martins')).id;
  });
  after(async () => {
    await alias?.stop();
    await infra?.destroy();
  });

  test('GET and PATCH: the display name is validated as at sign-up', async () => {
    const { access_token: token } = await loginFrom(alias, 'sara.m', freshAddress());
    const me = await call(alias, 'GET', '/v1/me', token);
    assert.equal(me.statusCode, 200);
    assert.deepEqual(Object.keys(me.json()).sort(), ['createdAt', 'displayName', 'handle', 'id']);
    assert.equal(me.json<{ handle: string }>().handle, 'Sara.M');

    const patched = await call(alias, 'PATCH', '/v1/me', token, { displayName: '  Sara   Martins  Costa ' });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.equal(patched.json<{ displayName: string }>().displayName, 'Sara Martins Costa');
    assert.equal((await call(alias, 'GET', '/v1/me', token)).json<{ displayName: string }>().displayName, 'Sara Martins Costa');

    for (const displayName of ['   ', 'a'.repeat(81), 'Sara\u202EMartins', 'line\u0000break']) {
      const refused = assertProblem(await call(alias, 'PATCH', '/v1/me', token, { displayName }), 400, 'validation_failed') as { errors?: { field: string }[] };
      if (displayName.trim()) assert.equal(refused.errors?.[0]?.field, 'body/displayName');
    }
    assertProblem(await call(alias, 'PATCH', '/v1/me', token, {}), 400, 'validation_failed');
    // Unknown fields are dropped: nothing else can be changed here.
    const sneaky = await call(alias, 'PATCH', '/v1/me', token, { displayName: 'Sara M', handle: 'admin', id: 'x' });
    assert.equal(sneaky.statusCode, 200);
    assert.equal(sneaky.json<{ handle: string; id: string }>().handle, 'Sara.M');
    assert.equal(sneaky.json<{ id: string }>().id, userId);
    assertProblem(await call(alias, 'PATCH', '/v1/me', await serviceToken(alias), { displayName: 'x' }), 403, 'forbidden');
  });

  test('changing the password ends every session and returns a fresh one', async () => {
    const here = await loginFrom(alias, 'sara.m', freshAddress());
    const elsewhere = await loginFrom(alias, 'sara.m', freshAddress());
    const change = (token: string, currentPassword: string, newPassword: string) => call(alias, 'POST', '/v1/me/password', token, { currentPassword, newPassword });

    assertProblem(await change(here.access_token, 'not the password', 'a brand new password'), 403, 'password_incorrect');
    assertProblem(await change(here.access_token, PASSWORD, 'short'), 400, 'validation_failed');
    const changed = await change(here.access_token, PASSWORD, 'a brand new password');
    assert.equal(changed.statusCode, 200, changed.body);
    assert.equal(changed.headers['cache-control'], 'no-store');
    const fresh = changed.json<TokenPair>();
    assert.ok(fresh.access_token && fresh.refresh_token);

    // Every earlier session is over, this device's too; the fresh pair works.
    for (const old of [here, elsewhere]) {
      assertProblem(await tokenRequest(alias, { grant_type: 'refresh_token', refresh_token: old.refresh_token }), 400, 'invalid_grant');
      assertProblem(await call(alias, 'GET', '/v1/me', old.access_token), 401, 'unauthorized');
      assert.equal((await introspect(alias, old.access_token)).json<{ active: boolean }>().active, false);
    }
    assert.equal((await call(alias, 'GET', '/v1/me', fresh.access_token)).statusCode, 200);
    assert.equal((await tokenRequest(alias, { grant_type: 'refresh_token', refresh_token: fresh.refresh_token })).statusCode, 200);

    // The old password no longer logs in; the new one does.
    assertProblem(await passwordGrant(alias, 'sara.m', PASSWORD, freshAddress()), 400, 'invalid_grant');
    await loginFrom(alias, 'sara.m', freshAddress(), 'a brand new password');
  });
});
