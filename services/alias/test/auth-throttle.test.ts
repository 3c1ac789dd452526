// Login throttling against real PostgreSQL: growing delays then a lock, per account and per address,
// the same for names nobody holds, counted before the password is checked, shared by replicas, and
// X-Forwarded-For believed only from a trusted proxy.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningService } from '@wallet/kit';
import { createTestInfra, needsInfra, type TestInfra } from '@wallet/testkit';
import { assertProblem, PASSWORD, signUp, startAlias, testEnv } from './helpers.ts';
import { call, freshAddress, loginFrom, passwordGrant, sleep } from './auth-helpers.ts';

const throttleEnv = {
  LOGIN_DELAY_AFTER_FAILURES: '2',
  LOGIN_DELAY_BASE_MS: '400',
  LOGIN_DELAY_MAX_MS: '800',
  LOGIN_LOCK_AFTER_FAILURES: '4',
  LOGIN_LOCK_SECONDS: '2',
  LOGIN_IP_DELAY_AFTER_FAILURES: '6',
  LOGIN_IP_LOCK_AFTER_FAILURES: '8',
};

type Reply = Awaited<ReturnType<typeof passwordGrant>>;

/** Status, body and Retry-After: what a client can observe, minus the request id. */
const observed = (r: Reply) => ({ status: r.statusCode, body: r.json<Record<string, unknown>>(), retryAfter: r.headers['retry-after'] });

describe('login throttling', await needsInfra(), () => {
  let infra: TestInfra;
  let alias: RunningService;

  before(async () => {
    infra = await createTestInfra();
    alias = await startAlias(infra, testEnv(infra, throttleEnv));
    for (const handle of ['gil', 'hana', 'ines', 'joao', 'kai', 'lia']) await signUp(alias, handle, handle);
  });
  after(async () => {
    await alias?.stop();
    await infra?.destroy();
  });

  /** Runs the same schedule for a username; returns what each step answered. */
  const schedule = async (username: string, from: string) => {
    const wrong = () => passwordGrant(alias, username, 'not the password', from);
    const steps: ReturnType<typeof observed>[] = [];
    steps.push(observed(await wrong())); // 1
    steps.push(observed(await wrong())); // 2: the delays start
    steps.push(observed(await wrong())); // throttled: 400 ms
    await sleep(450);
    steps.push(observed(await wrong())); // 3
    steps.push(observed(await wrong())); // throttled: 800 ms
    await sleep(850);
    steps.push(observed(await wrong())); // 4: locked for 2 s
    steps.push(observed(await wrong())); // locked
    return steps;
  };

  test('growing delays, then a lock; 429 with Retry-After; even the right password waits', async () => {
    const from = freshAddress();
    const steps = await schedule('gil', from);
    assert.deepEqual(
      steps.map((s) => [s.status, s.body.code, s.retryAfter]),
      [
        [400, 'invalid_grant', undefined],
        [400, 'invalid_grant', undefined],
        [429, 'login_throttled', '1'],
        [400, 'invalid_grant', undefined],
        [429, 'login_throttled', '1'],
        [400, 'invalid_grant', undefined],
        [429, 'login_throttled', '2'],
      ],
    );
    assert.equal(steps[6]!.body.retryAfterSeconds, 2);
    assert.equal(steps[6]!.body.error, 'login_throttled');
    // Locked: the right password is refused without being checked.
    const locked = await passwordGrant(alias, 'gil', PASSWORD, from);
    assertProblem(locked, 429, 'login_throttled');
    // From another address too: the lock is the account's.
    assertProblem(await passwordGrant(alias, 'gil', PASSWORD, freshAddress()), 429, 'login_throttled');

    await sleep(2100);
    await loginFrom(alias, 'gil', from);
    // A success clears the account's counter.
    assertProblem(await passwordGrant(alias, 'gil', 'not the password', from), 400, 'invalid_grant');
    assertProblem(await passwordGrant(alias, 'gil', 'not the password', from), 400, 'invalid_grant');
  });

  test('a name nobody holds is throttled exactly like an account: same statuses, bodies and Retry-After', async () => {
    const [known, unknown] = await Promise.all([schedule('hana', freshAddress()), schedule('nobody.here', freshAddress())]);
    assert.deepEqual(unknown, known);
    // Spellings of one handle share one counter.
    assertProblem(await passwordGrant(alias, '@HANA', 'not the password', freshAddress()), 429, 'login_throttled');
    assertProblem(await passwordGrant(alias, '@Nobody.Here', 'not the password', freshAddress()), 429, 'login_throttled');
  });

  test('guesses sent in parallel are counted before the password is checked', async () => {
    const from = freshAddress();
    const replies = await Promise.all(Array.from({ length: 8 }, () => passwordGrant(alias, 'ines', 'not the password', from)));
    const statuses = replies.map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [400, 400, 429, 429, 429, 429, 429, 429]);
  });

  test('per address: many names from one address are throttled there, not elsewhere', async () => {
    const from = freshAddress();
    for (let i = 0; i < 6; i++) assertProblem(await passwordGrant(alias, `spray${i}`, 'not the password', from), 400, 'invalid_grant');
    assertProblem(await passwordGrant(alias, 'spray6', 'not the password', from), 429, 'login_throttled');
    // A right password from that address waits too; from another address it passes.
    assertProblem(await passwordGrant(alias, 'joao', PASSWORD, from), 429, 'login_throttled');
    await loginFrom(alias, 'joao', freshAddress());
  });

  test('X-Forwarded-For is believed only from trusted proxies', async () => {
    // This replica trusts another proxy: requests from 127.0.0.1 are counted against 127.0.0.1, whatever they claim.
    const strict = await startAlias(infra, testEnv(infra, { ...throttleEnv, SERVICE_TRUSTED_PROXIES: '10.11.12.13' }));
    try {
      for (let i = 0; i < 6; i++) assertProblem(await passwordGrant(strict, `xff${i}`, 'not the password', freshAddress()), 400, 'invalid_grant');
      assertProblem(await passwordGrant(strict, 'xff6', 'not the password', freshAddress()), 429, 'login_throttled');
      // The trusting replica sees each claimed address, so the same claims are not throttled there.
      assertProblem(await passwordGrant(alias, 'xff7', 'not the password', freshAddress()), 400, 'invalid_grant');
    } finally {
      await strict.stop();
    }
  });

  test('replicas share the counters (PostgreSQL)', async () => {
    const other = await startAlias(infra, testEnv(infra, throttleEnv));
    try {
      const from = freshAddress();
      assertProblem(await passwordGrant(alias, 'kai', 'not the password', from), 400, 'invalid_grant');
      assertProblem(await passwordGrant(other, 'kai', 'not the password', from), 400, 'invalid_grant');
      assertProblem(await passwordGrant(alias, 'kai', 'not the password', from), 429, 'login_throttled');
      assertProblem(await passwordGrant(other, 'kai', 'not the password', from), 429, 'login_throttled');
    } finally {
      await other.stop();
    }
  });

  test('re-authentication on /v1/me routes is counted like a login', async () => {
    const from = freshAddress();
    const { access_token: token } = await loginFrom(alias, 'lia', from);
    const change = (currentPassword: string) =>
      call(alias, 'POST', '/v1/me/password', token, { currentPassword, newPassword: 'a brand new password' }, { 'x-forwarded-for': from });
    assertProblem(await change('wrong password 1'), 403, 'password_incorrect');
    assertProblem(await change('wrong password 2'), 403, 'password_incorrect');
    assertProblem(await change(PASSWORD), 429, 'login_throttled');
    assertProblem(await passwordGrant(alias, 'lia', PASSWORD, freshAddress()), 429, 'login_throttled');
  });

  test('no counter stores a name as typed', async () => {
    const { rows } = await infra.db.query<{ key: string }>(`SELECT key FROM alias.login_failures`);
    assert.ok(rows.length > 0);
    for (const { key } of rows) assert.match(key, /^(user:[0-9a-f-]{36}|name:[0-9a-f]{64}|ip:[0-9.]+)$/);
  });
});
