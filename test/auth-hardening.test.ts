// Authentication hardening end to end, through the gateway, in both run modes: login throttling
// (growing delays, lock, unknown names alike, spoofed X-Forwarded-For ignored), refresh rotation and
// reuse, revocation, logout everywhere, introspection, the OpenID metadata, signing-key rotation,
// TOTP with recovery codes, and a password change ending the other sessions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { servicePortsEnv, needsInfra } from '@wallet/testkit';
import { startEmbedded } from '@wallet/launcher';
import type { Env } from '@wallet/kit';
import { WalletClient, type Reply } from './support/client.ts';
import { startRealStack, type Stack } from './support/stack.ts';

/** Small limits and delays, so that every rule can be seen within seconds. */
const authEnv: Env = {
  LOGIN_DELAY_AFTER_FAILURES: '3',
  LOGIN_DELAY_BASE_MS: '300',
  LOGIN_DELAY_MAX_MS: '600',
  LOGIN_LOCK_AFTER_FAILURES: '5',
  LOGIN_LOCK_SECONDS: '2',
  LOGIN_IP_DELAY_AFTER_FAILURES: '40',
  LOGIN_IP_LOCK_AFTER_FAILURES: '1000',
  // Longer than the verifiers' 30 s refetch cooldown: every verifier can fetch the new key before it signs.
  SIGNING_KEY_PUBLISH_DELAY_SECONDS: '31',
};

/** Like startEmbeddedStack, with settings of our own. */
async function startEmbeddedWith(extra: Env): Promise<Stack> {
  const operator = { id: 'operator-e2e', secret: randomBytes(18).toString('base64url') };
  const stack = await startEmbedded({
    env: {
      ...(await servicePortsEnv()),
      RATE_LIMIT_CALLER_MAX: '1000000',
      RATE_LIMIT_ANONYMOUS_MAX: '1000000',
      RATE_LIMIT_CREDENTIALS_MAX: '1000000',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      OPERATOR_CLIENT_ID: operator.id,
      OPERATOR_CLIENT_SECRET: operator.secret,
      ...extra,
    },
  });
  return { mode: 'embedded', gatewayUrl: stack.gatewayUrl, operator, stop: stack.stop };
}

const PASSWORD = 'correct horse battery';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** RFC 6238 (SHA-1, 6 digits, 30 s), written out here so the service's own TOTP code is not what checks it. */
function totp(secretBase32: string, at: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of secretBase32.replace(/=+$/, '')) bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30_000)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

function kidOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid as string;
}

async function postForm(base: string, path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await fetch(new URL(path, base), { method: 'POST', headers, body: new URLSearchParams(fields) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers };
}

function runAuthHardening(getStack: () => Stack) {
  let stack: Stack;
  let operator: WalletClient;
  let rotation: { oldKid: string; newKid: string; signsFrom: number; oldToken: string };
  const client = (token?: string) => new WalletClient(stack.gatewayUrl, token);
  const operatorBasic = () => `Basic ${Buffer.from(`${stack.operator.id}:${stack.operator.secret}`).toString('base64')}`;
  const password = (username: string, pass: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}) =>
    postForm(stack.gatewayUrl, '/v1/auth/token', { grant_type: 'password', username, password: pass, ...extra }, headers);
  const refresh = (token: string) => postForm(stack.gatewayUrl, '/v1/auth/token', { grant_type: 'refresh_token', refresh_token: token });
  const introspect = async (token: string) => {
    const r = await postForm(stack.gatewayUrl, '/v1/auth/introspect', { token }, { authorization: operatorBasic() });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const signUp = async (handle: string) => {
    const c = client();
    await c.signUp(handle, `${handle} Tester`);
    return c;
  };
  const login = async (handle: string, pass = PASSWORD, extra: Record<string, string> = {}) => {
    const r = await password(handle, pass, extra);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body as { access_token: string; refresh_token: string };
  };

  before(async () => {
    stack = getStack();
    operator = client();
    assert.equal((await operator.loginClient(stack.operator.id, stack.operator.secret)).status, 200);
    // Rotate first: the new key signs 31 s from now, and the last test checks the handover.
    await signUp('rot.user');
    const oldToken = (await login('rot.user')).access_token;
    const rotated = await operator.post('/v1/admin/signing-keys/rotate');
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    rotation = { oldKid: kidOf(oldToken), newKid: rotated.body.kid as string, signsFrom: Date.parse(rotated.body.signsFrom as string), oldToken };
  });

  test('the OpenID configuration names the gateway\'s endpoints', async () => {
    const r = await client().get('/.well-known/openid-configuration');
    assert.equal(r.status, 200);
    const at = (path: string) => new URL(path, stack.gatewayUrl).toString();
    assert.equal(r.body.token_endpoint, at('/v1/auth/token'));
    assert.equal(r.body.revocation_endpoint, at('/v1/auth/revoke'));
    assert.equal(r.body.introspection_endpoint, at('/v1/auth/introspect'));
    assert.equal(r.body.jwks_uri, at('/.well-known/jwks.json'));
    assert.deepEqual(r.body.id_token_signing_alg_values_supported, ['ES256']);
    // The published document is served, and so is the key set it points to.
    assert.equal((await fetch(String(r.body.jwks_uri))).status, 200);
  });

  test('throttling: growing delays then a lock, the same for a name nobody holds; a success clears it', async () => {
    await signUp('thr.user');
    const run = async (username: string) => {
      const seen: [number, unknown, string | null][] = [];
      const wrong = async () => {
        const r = await password(username, 'wrong password!');
        seen.push([r.status, r.body.code, r.headers.get('retry-after')]);
        return r;
      };
      for (let i = 0; i < 3; i++) await wrong(); // three free failures
      await wrong(); // waits 300 ms
      await sleep(350);
      await wrong(); // 4th
      await wrong(); // waits 600 ms
      await sleep(650);
      await wrong(); // 5th: locked for 2 s
      const locked = await wrong();
      return { seen, locked };
    };
    const [known, unknown] = await Promise.all([run('thr.user'), run('no.such.user')]);
    assert.deepEqual(known.seen, [
      [400, 'invalid_grant', null],
      [400, 'invalid_grant', null],
      [400, 'invalid_grant', null],
      [429, 'login_throttled', '1'],
      [400, 'invalid_grant', null],
      [429, 'login_throttled', '1'],
      [400, 'invalid_grant', null],
      [429, 'login_throttled', '2'],
    ]);
    assert.deepEqual(unknown.seen, known.seen);
    assert.deepEqual(unknown.locked.body, known.locked.body);
    // The right password is refused during the lock, and accepted after it.
    assert.equal((await password('thr.user', PASSWORD)).status, 429);
    await sleep(2100);
    await login('thr.user');
    assert.equal((await password('thr.user', 'wrong password!')).status, 400);
  });

  test('unknown user and wrong password: same status, same body, similar time', async () => {
    for (const handle of ['tim.a', 'tim.b', 'tim.c']) await signUp(handle);
    const timed = async (username: string) => {
      const started = performance.now();
      const r = await password(username, 'wrong password!');
      return { ms: performance.now() - started, status: r.status, body: r.body };
    };
    const wrong: Awaited<ReturnType<typeof timed>>[] = [];
    const unknown: Awaited<ReturnType<typeof timed>>[] = [];
    for (let round = 0; round < 2; round++) {
      for (const handle of ['tim.a', 'tim.b', 'tim.c']) {
        wrong.push(await timed(handle));
        unknown.push(await timed(`${handle}.nobody${round}`));
      }
    }
    for (const r of [...wrong, ...unknown]) {
      assert.equal(r.status, 400);
      assert.deepEqual(r.body, wrong[0]!.body);
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const [w, u] = [median(wrong.map((r) => r.ms)), median(unknown.map((r) => r.ms))];
    assert.ok(u > w / 3 && u < w * 3, `wrong password ${w.toFixed(1)} ms, unknown user ${u.toFixed(1)} ms`);
  });

  test('refresh tokens rotate; presenting a spent one ends the whole session', async () => {
    await signUp('ref.user');
    const first = await login('ref.user');
    const second = (await refresh(first.refresh_token)).body as { access_token: string; refresh_token: string };
    assert.ok(second.refresh_token && second.refresh_token !== first.refresh_token);
    assert.equal((await refresh(first.refresh_token)).body.code, 'invalid_grant');
    assert.equal((await refresh(second.refresh_token)).body.code, 'invalid_grant');
    assert.equal((await introspect(second.access_token)).active, false);
    assert.equal((await client(second.access_token).get('/v1/me')).status, 401);
  });

  test('revocation (RFC 7009) of a refresh token and of an access token; unknown tokens are 200', async () => {
    await signUp('rev.user');
    const a = await login('rev.user');
    const b = await login('rev.user');
    const revoke = (fields: Record<string, string>) => postForm(stack.gatewayUrl, '/v1/auth/revoke', fields);
    assert.equal((await revoke({ token: a.refresh_token, token_type_hint: 'refresh_token' })).status, 200);
    assert.equal((await refresh(a.refresh_token)).body.code, 'invalid_grant');
    assert.equal((await introspect(a.access_token)).active, false);
    assert.equal((await revoke({ token: b.access_token })).status, 200);
    assert.equal((await introspect(b.access_token)).active, false);
    assert.equal((await client(b.access_token).get('/v1/me')).status, 401);
    assert.equal((await refresh(b.refresh_token)).status, 200, 'revoking an access token leaves its session');
    assert.equal((await revoke({ token: 'never-issued' })).status, 200);
  });

  test('introspection (RFC 7662) for the operator and services only', async () => {
    const user = await signUp('int.user');
    const tokens = await login('int.user');
    const claims = await introspect(tokens.access_token);
    assert.equal(claims.active, true);
    assert.equal(claims.scope, 'wallet:user');
    assert.equal(claims.token_type, 'Bearer');
    assert.equal(claims.sub, (await user.get('/v1/me')).body.id);
    assert.equal((await introspect(tokens.refresh_token)).token_type, 'refresh_token');
    assert.equal((await introspect('nonsense')).active, false);
    const asUser = await postForm(stack.gatewayUrl, '/v1/auth/introspect', { token: tokens.access_token }, { authorization: `Bearer ${tokens.access_token}` });
    assert.equal(asUser.status, 403);
    assert.equal((await postForm(stack.gatewayUrl, '/v1/auth/introspect', { token: tokens.access_token })).status, 401);
    const withOperatorToken = await postForm(stack.gatewayUrl, '/v1/auth/introspect', { token: tokens.access_token }, { authorization: `Bearer ${operator.token}` });
    assert.equal(withOperatorToken.body.active, true);
  });

  test('logout everywhere ends every session of the caller', async () => {
    await signUp('out.user');
    const a = await login('out.user');
    const b = await login('out.user');
    const r = await client(a.access_token).post('/v1/me/sessions/revoke');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok((r.body.revoked as number) >= 2);
    for (const pair of [a, b]) {
      assert.equal((await refresh(pair.refresh_token)).body.code, 'invalid_grant');
      assert.equal((await introspect(pair.access_token)).active, false);
    }
  });

  test('TOTP: enrol, then logins need a code; a recovery code works once', async () => {
    const user = await signUp('mfa.user');
    const enrolled = await user.post('/v1/me/totp', { password: PASSWORD });
    assert.equal(enrolled.status, 201, JSON.stringify(enrolled.body));
    const secret = enrolled.body.secret as string;
    if (Date.now() % 30_000 > 25_000) await sleep(30_000 - (Date.now() % 30_000) + 200);
    const confirmed = await user.post('/v1/me/totp/confirm', { code: totp(secret, Date.now()) });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    const codes = confirmed.body.recoveryCodes as string[];
    assert.equal(codes.length, 10);

    const missing = await password('mfa.user', PASSWORD);
    assert.deepEqual([missing.status, missing.body.code, missing.body.error], [400, 'mfa_required', 'mfa_required']);
    assert.equal((await password('mfa.user', PASSWORD, { totp: '12345x' })).body.code, 'invalid_grant');
    await login('mfa.user', PASSWORD, { totp: totp(secret, Date.now() + 30_000) });
    await login('mfa.user', PASSWORD, { totp: codes[0]! });
    assert.equal((await password('mfa.user', PASSWORD, { totp: codes[0]! })).body.code, 'invalid_grant');
  });

  test('a password change ends the other sessions and returns a fresh pair', async () => {
    const user = await signUp('pwd.user');
    const other = await login('pwd.user');
    const changed = await user.post('/v1/me/password', { currentPassword: PASSWORD, newPassword: 'another long secret' });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    assert.equal((await refresh(other.refresh_token)).body.code, 'invalid_grant');
    assert.equal((await introspect(other.access_token)).active, false);
    assert.equal((await client(changed.body.access_token as string).get('/v1/me')).status, 200);
    assert.equal((await password('pwd.user', PASSWORD)).body.code, 'invalid_grant');
    await login('pwd.user', 'another long secret');
  });

  test('X-Forwarded-For from a client is not believed: rotating it does not escape the per-address limit', async () => {
    // Every request of this test comes from this machine; the gateway replaces the header with the
    // address it saw. Fresh names each time, so only the address counter can throttle.
    let throttledAt = 0;
    for (let i = 1; i <= 45 && !throttledAt; i++) {
      const r = await password(`xff.${i}`, 'wrong password!', {}, { 'x-forwarded-for': `203.0.113.${i}`, 'x-real-ip': `203.0.113.${i}`, forwarded: `for=203.0.113.${i}` });
      if (r.status === 429) throttledAt = i;
      else assert.equal(r.body.code, 'invalid_grant');
    }
    assert.ok(throttledAt > 0, 'the address counter throttled');
    const throttled = await password('xff.last', 'wrong password!', {}, { 'x-forwarded-for': '198.51.100.77' });
    assert.deepEqual([throttled.status, throttled.body.code], [429, 'login_throttled']);
    await sleep(700); // the address's delay (at most LOGIN_DELAY_MAX_MS) before the next test logs in
  });

  test('key rotation: the new key signs after its delay; tokens of the old one stay valid everywhere', async () => {
    const jwks = async () => ((await client().get('/.well-known/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid).sort();
    assert.deepEqual(await jwks(), [rotation.oldKid, rotation.newKid].sort());
    await sleep(Math.max(0, rotation.signsFrom - Date.now() + 200));
    const fresh = await login('rot.user');
    assert.equal(kidOf(fresh.access_token), rotation.newKid);
    for (const token of [fresh.access_token, rotation.oldToken]) {
      // The gateway, the alias service and the account service each verify it.
      const me = client(token);
      assert.equal((await me.get('/v1/me')).status, 200);
      assert.equal((await me.get('/v1/accounts')).status, 200);
      assert.equal((await introspect(token)).active, true);
    }
    const keys = await operator.get('/v1/admin/signing-keys');
    assert.deepEqual(
      (keys.body.keys as { kid: string; status: string }[]).map((k) => [k.kid, k.status]),
      [
        [rotation.newKid, 'signing'],
        [rotation.oldKid, 'retired'],
      ],
    );
  });
}

describe('auth hardening, real mode: five processes on PostgreSQL, RabbitMQ and Redis', await needsInfra(), () => {
  let stack: Stack;
  before(async () => {
    stack = await startRealStack(authEnv);
  });
  after(async () => stack?.stop());
  runAuthHardening(() => stack);
});

describe('auth hardening, embedded mode: one process on PGlite', () => {
  let stack: Stack;
  before(async () => {
    stack = await startEmbeddedWith(authEnv);
  });
  after(async () => stack?.stop());
  runAuthHardening(() => stack);
});
