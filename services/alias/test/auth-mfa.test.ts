// The second factor against real PostgreSQL: TOTP enrolment with the password, confirmation with a
// first code and ten recovery codes; logins that need a code; codes used once; turning it off.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { RunningService } from '@wallet/kit';
import { createTestInfra, needsInfra, type TestInfra } from '@wallet/testkit';
import { totpCode, totpStep } from '../src/auth/totp.ts';
import { keyId } from '../src/auth/secret-box.ts';
import { assertProblem, PASSWORD, signUp, startAlias, testEnv } from './helpers.ts';
import { call, freshAddress, loginFrom, passwordGrant, sleep } from './auth-helpers.ts';

/** Waits until the current 30-second step has at least 3 s left, so codes of now ± 1 step stay valid. */
async function awayFromStepEdge() {
  const intoStep = Date.now() % 30_000;
  if (intoStep > 26_000) await sleep(30_000 - intoStep + 200);
}

const throttleEnv = { LOGIN_DELAY_AFTER_FAILURES: '3', LOGIN_LOCK_AFTER_FAILURES: '3', LOGIN_LOCK_SECONDS: '600' };

describe('second factor (TOTP)', await needsInfra(), () => {
  let infra: TestInfra;
  let alias: RunningService;
  const totpKey = randomBytes(32);

  before(async () => {
    infra = await createTestInfra();
    alias = await startAlias(infra, testEnv(infra, { ...throttleEnv, TOTP_ENCRYPTION_KEY: totpKey.toString('base64') }));
    for (const handle of ['olga', 'paulo', 'quim']) await signUp(alias, handle, handle);
  });
  after(async () => {
    await alias?.stop();
    await infra?.destroy();
  });

  const enrol = async (token: string) => {
    const response = await call(alias, 'POST', '/v1/me/totp', token, { password: PASSWORD });
    assert.equal(response.statusCode, 201, response.body);
    return response.json<{ secret: string; otpauthUri: string }>();
  };
  const confirm = (token: string, code: string) => call(alias, 'POST', '/v1/me/totp/confirm', token, { code });

  test('enrol (password needed), confirm with a first code, get ten recovery codes', async () => {
    const { access_token: token } = await loginFrom(alias, 'olga', freshAddress());
    assertProblem(await call(alias, 'POST', '/v1/me/totp', token, { password: 'not the password' }), 403, 'password_incorrect');
    assertProblem(await confirm(token, '123456'), 409, 'totp_not_enrolled');
    const first = await enrol(token);
    const { secret, otpauthUri } = await enrol(token); // again: replaces the pending secret
    assert.notEqual(secret, first.secret);
    const uri = new URL(otpauthUri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(decodeURIComponent(uri.pathname), '/Wallet:@olga');
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.deepEqual((await call(alias, 'GET', '/v1/me/totp', token)).json(), { enabled: false, pending: true, recoveryCodesLeft: 0 });

    await awayFromStepEdge();
    assertProblem(await confirm(token, totpCode(first.secret, Date.now())), 422, 'totp_code_invalid');
    assertProblem(await confirm(token, 'abc'), 422, 'totp_code_invalid');
    const confirmed = await confirm(token, totpCode(secret, Date.now()));
    assert.equal(confirmed.statusCode, 200, confirmed.body);
    assert.equal(confirmed.headers['cache-control'], 'no-store');
    const { recoveryCodes } = confirmed.json<{ recoveryCodes: string[] }>();
    assert.equal(recoveryCodes.length, 10);
    assert.deepEqual((await call(alias, 'GET', '/v1/me/totp', token)).json(), { enabled: true, pending: false, recoveryCodesLeft: 10 });
    assertProblem(await call(alias, 'POST', '/v1/me/totp', token, { password: PASSWORD }), 409, 'totp_already_enabled');

    // Stored sealed with the configured key, bound to the user; recovery codes only as hashes.
    const { rows } = await infra.db.query<{ secret: string }>(`SELECT secret_encrypted AS secret FROM alias.totp_credentials`);
    assert.equal(rows.length, 1);
    assert.ok(!rows[0]!.secret.includes(secret));
    assert.ok(rows[0]!.secret.startsWith(`v1.${keyId(totpKey)}.`));
    const hashes = await infra.db.query<{ h: string }>(`SELECT code_hash AS h FROM alias.recovery_codes`);
    assert.equal(hashes.rows.length, 10);
    for (const code of recoveryCodes) assert.ok(hashes.rows.every((r) => !r.h.includes(code) && !r.h.includes(code.replaceAll('-', ''))));

    // Logging in now needs the code.
    const from = freshAddress();
    const missing = assertProblem(await passwordGrant(alias, 'olga', PASSWORD, from), 400, 'mfa_required') as Record<string, unknown>;
    assert.equal(missing.error, 'mfa_required');
    assert.deepEqual(missing.mfaMethods, ['totp', 'recovery_code']);
    // A wrong password with an account that has a second factor is still just invalid_grant.
    assertProblem(await passwordGrant(alias, 'olga', 'not the password', from, { totp: '000000' }), 400, 'invalid_grant');

    // The code of the confirmation step was used: the next step's code logs in, once.
    const next = totpCode(secret, Date.now() + 30_000);
    await loginFrom(alias, 'olga', from, PASSWORD, { totp: next });
    assertProblem(await passwordGrant(alias, 'olga', PASSWORD, from, { totp: next }), 400, 'invalid_grant');
    assertProblem(await passwordGrant(alias, 'olga', PASSWORD, from, { totp: totpCode(secret, Date.now()) }), 400, 'invalid_grant');

    // A recovery code logs in once, in any spelling.
    await loginFrom(alias, 'olga', freshAddress(), PASSWORD, { recovery_code: recoveryCodes[0]!.toLowerCase().replaceAll('-', ' ') });
    assertProblem(await passwordGrant(alias, 'olga', PASSWORD, freshAddress(), { recovery_code: recoveryCodes[0]! }), 400, 'invalid_grant');
    await loginFrom(alias, 'olga', freshAddress(), PASSWORD, { totp: recoveryCodes[1]! });
    assert.equal((await call(alias, 'GET', '/v1/me/totp', token)).json<{ recoveryCodesLeft: number }>().recoveryCodesLeft, 8);
    assertProblem(await passwordGrant(alias, 'olga', PASSWORD, freshAddress(), { totp: '123456', recovery_code: recoveryCodes[2]! }), 400, 'validation_failed');
  });

  test('asking for the code does not count as a failure; wrong codes do', async () => {
    const { access_token: token } = await loginFrom(alias, 'paulo', freshAddress());
    await awayFromStepEdge();
    const { secret } = await enrol(token);
    assert.equal((await confirm(token, totpCode(secret, Date.now()))).statusCode, 200);
    const from = freshAddress();
    for (let i = 0; i < 5; i++) assertProblem(await passwordGrant(alias, 'paulo', PASSWORD, from), 400, 'mfa_required');
    for (let i = 0; i < 3; i++) assertProblem(await passwordGrant(alias, 'paulo', PASSWORD, from, { totp: '000000' === totpCode(secret, Date.now()) ? '111111' : '000000' }), 400, 'invalid_grant');
    // Three wrong codes lock the account (LOGIN_LOCK_AFTER_FAILURES=3 here): the right code waits too.
    assertProblem(await passwordGrant(alias, 'paulo', PASSWORD, from, { totp: totpCode(secret, Date.now() + 30_000) }), 429, 'login_throttled');
  });

  test('turning it off needs the password and a code; then the password alone logs in again', async () => {
    const { access_token: token } = await loginFrom(alias, 'quim', freshAddress());
    assertProblem(await call(alias, 'POST', '/v1/me/totp/disable', token, { password: PASSWORD, code: '123456' }), 409, 'totp_not_enrolled');
    await awayFromStepEdge();
    const { secret } = await enrol(token);
    const step = totpStep(Date.now());
    assert.equal((await confirm(token, totpCode(secret, step * 30_000))).statusCode, 200);
    assertProblem(await call(alias, 'POST', '/v1/me/totp/disable', token, { password: 'not the password', code: totpCode(secret, (step + 1) * 30_000) }), 403, 'password_incorrect');
    assertProblem(await call(alias, 'POST', '/v1/me/totp/disable', token, { password: PASSWORD, code: totpCode(secret, step * 30_000) }), 422, 'totp_code_invalid');
    const off = await call(alias, 'POST', '/v1/me/totp/disable', token, { password: PASSWORD, code: totpCode(secret, (step + 1) * 30_000) });
    assert.equal(off.statusCode, 204, off.body);
    await loginFrom(alias, 'quim', freshAddress());
    assert.equal(await count('recovery_codes', 'quim'), 0);
  });

  test('without TOTP_ENCRYPTION_KEY a key is generated once and kept in the database', async () => {
    const keyless = await startAlias(infra, testEnv(infra, throttleEnv));
    try {
      const { rows } = await infra.db.query<{ value: string }>(`SELECT value FROM alias.service_secrets WHERE name = 'totp-encryption-key'`);
      assert.equal(rows.length, 1);
      assert.equal(Buffer.from(rows[0]!.value, 'base64url').length, 32);
      const again = await startAlias(infra, testEnv(infra, throttleEnv));
      await again.stop();
      assert.equal((await infra.db.query(`SELECT 1 FROM alias.service_secrets`)).rowCount, 1);
    } finally {
      await keyless.stop();
    }
  });

  async function count(table: string, handle: string): Promise<number> {
    const { rows } = await infra.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM alias.${table} t JOIN alias.users u ON u.id = t.user_id WHERE u.handle = $1`, [handle]);
    return rows[0]!.n;
  }
});
