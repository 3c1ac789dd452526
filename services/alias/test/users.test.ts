// Sign-up rules, errors and uniqueness against real PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { verify as argon2Verify } from '@node-rs/argon2';
import type { RunningService } from '@wallet/kit';
import { createTestInfra, needsInfra, type TestInfra } from '@wallet/testkit';
import { assertProblem, count, get, login, PASSWORD, signUp, startAlias, testEnv } from './helpers.ts';

describe('sign-up', await needsInfra(), () => {
  let infra: TestInfra;
  let alias: RunningService;

  before(async () => {
    infra = await createTestInfra();
    alias = await startAlias(infra, testEnv(infra));
  });
  after(async () => {
    await alias?.stop();
    await infra?.destroy();
  });

  const post = (payload: unknown) => alias.app.inject({ method: 'POST', url: '/v1/users', payload: payload as Record<string, unknown> });

  test('creates the user with their handle as first alias and an argon2id hash', async () => {
    const response = await post({ handle: '@Ana.Pereira', password: PASSWORD, displayName: '  Ana   Paula Pereira ', extra: 'ignored' });
    assert.equal(response.statusCode, 201, response.body);
    const user = response.json<Record<string, string>>();
    assert.deepEqual(Object.keys(user).sort(), ['createdAt', 'displayName', 'handle', 'id']);
    assert.match(user.id!, /^[0-9a-f-]{36}$/);
    assert.equal(user.handle, 'Ana.Pereira');
    assert.equal(user.displayName, 'Ana Paula Pereira');
    assert.ok(!Number.isNaN(Date.parse(user.createdAt!)));

    const { rows } = await infra.db.query<{ password_hash: string; type: string; value: string; verified: boolean }>(
      `SELECT u.password_hash, a.type, a.value, a.verified_at IS NOT NULL AS verified FROM alias.users u JOIN alias.aliases a ON a.user_id = u.id WHERE u.id = $1`,
      [user.id],
    );
    assert.equal(rows.length, 1);
    assert.deepEqual({ type: rows[0]!.type, value: rows[0]!.value, verified: rows[0]!.verified }, { type: 'handle', value: 'ana.pereira', verified: true });
    assert.match(rows[0]!.password_hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await argon2Verify(rows[0]!.password_hash, PASSWORD), true);

    const { access_token } = await login(alias, 'ana.pereira');
    const me = await get(alias, '/v1/me', access_token);
    assert.equal(me.statusCode, 200);
    assert.deepEqual(me.json(), user);
  });

  test('a handle taken in any casing answers 409 handle_taken', async () => {
    await signUp(alias, 'bruno');
    for (const handle of ['bruno', 'BRUNO', '@Bruno']) {
      const body = assertProblem(await post({ handle, password: PASSWORD, displayName: 'Other Bruno' }), 409, 'handle_taken');
      assert.match(String((body as { detail?: string }).detail), /already taken/);
    }
    assert.equal((await infra.db.query(`SELECT 1 FROM alias.users WHERE lower(handle) = 'bruno'`)).rowCount, 1);
  });

  test('two concurrent sign-ups with the same handle: exactly one 201', async () => {
    const responses = await Promise.all(
      ['carla', 'Carla', 'CARLA', '@carla', 'cArLa', 'carlA'].map((handle) => post({ handle, password: PASSWORD, displayName: 'Carla' })),
    );
    const statuses = responses.map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409]);
    assert.equal((await infra.db.query(`SELECT 1 FROM alias.aliases WHERE value = 'carla'`)).rowCount, 1);
  });

  test('reserved handles answer 422 handle_reserved', async () => {
    for (const handle of ['admin', '@Support', 'WALLET', 'sys.tem', 'settlement', 'root']) {
      assertProblem(await post({ handle, password: PASSWORD, displayName: 'Mallory' }), 422, 'handle_reserved');
    }
  });

  test('bad input answers 400 validation_failed and changes nothing', async () => {
    const usersBefore = await count(infra, 'users');
    const aliasesBefore = await count(infra, 'aliases');
    const cases: unknown[] = [
      { handle: 'ab', password: PASSWORD, displayName: 'Short' },
      { handle: 'a'.repeat(31), password: PASSWORD, displayName: 'Long' },
      { handle: 'ana-maria', password: PASSWORD, displayName: 'Dash' },
      { handle: '.dotty', password: PASSWORD, displayName: 'Dot' },
      { handle: 'validname1', password: 'short', displayName: 'Short password' },
      { handle: 'validname2', password: 'x'.repeat(129), displayName: 'Long password' },
      { handle: 'validname3', password: PASSWORD, displayName: '    ' },
      { handle: 'validname4', password: PASSWORD, displayName: 'x'.repeat(81) },
      { handle: 'validname5', password: PASSWORD, displayName: 'Bad\u0000name' },
      { handle: 'validname6', password: PASSWORD },
      { handle: 42, password: PASSWORD, displayName: 'Number' },
      { handle: 'validname7', password: 1234567890123, displayName: 'Numeric password' },
      [],
    ];
    for (const payload of cases) {
      const body = assertProblem(await post(payload), 400, 'validation_failed');
      assert.ok(!JSON.stringify(body).includes(PASSWORD), 'the password is never echoed');
    }
    const malformed = await alias.app.inject({ method: 'POST', url: '/v1/users', headers: { 'content-type': 'application/json' }, payload: '{"handle":' });
    assertProblem(malformed, 400, 'malformed_json');
    const wrongType = await alias.app.inject({ method: 'POST', url: '/v1/users', headers: { 'content-type': 'application/xml' }, payload: '<user/>' });
    assertProblem(wrongType, 415, 'unsupported_media_type');
    const huge = await post({ handle: 'validname8', password: PASSWORD, displayName: 'x'.repeat(70 * 1024) });
    assertProblem(huge, 413, 'payload_too_large');
    assert.equal(await count(infra, 'users'), usersBefore);
    assert.equal(await count(infra, 'aliases'), aliasesBefore);
  });

  test('/v1/me needs a user token', async () => {
    assertProblem(await get(alias, '/v1/me'), 401, 'unauthorized');
    assertProblem(await get(alias, '/v1/me', 'not-a-jwt'), 401, 'unauthorized');
    const client = await alias.app.inject({
      method: 'POST',
      url: '/v1/auth/token',
      payload: { grant_type: 'client_credentials', client_id: 'svc-gateway', client_secret: testEnv(infra).INTERNAL_CLIENT_SECRET },
    });
    assertProblem(await get(alias, '/v1/me', client.json<{ access_token: string }>().access_token), 403, 'forbidden');
  });
});
