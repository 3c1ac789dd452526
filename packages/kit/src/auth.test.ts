// The access-token verifier against a key set served here: which tokens pass, the clock tolerance,
// the 401 challenge, and how often an unknown kid may make it fetch the keys again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { claimsOf, keylessForgeries, sign, signedForgeries, validToken, type TokenFacts } from '../../../test/support/forged-tokens.ts';
import { authenticate, callerOf, CLOCK_TOLERANCE_SECONDS, createTokenVerifier, INVALID_TOKEN_CHALLENGE, requireScope, scopes, type TokenVerifier } from './auth.ts';
import { createService, type App } from './service.ts';

interface Key {
  kid: string;
  key: CryptoKey;
  jwk: JWK;
}

async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  return { kid, key: privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

const facts: TokenFacts = { issuer: 'wallet', audience: 'wallet-api', subject: randomUUID(), scope: scopes.user };
const invalidBody = {
  type: 'https://wallet.dev/problems/unauthorized',
  title: 'A valid access token is required',
  status: 401,
  code: 'unauthorized',
  detail: 'The access token is not valid',
};

describe('token verifier', () => {
  let server: Server;
  let jwksUrl: string;
  let published: Key[];
  let fetches = 0;
  let jwksStatus = 200;
  let key: Key;
  let app: App;

  const verifierFor = (cooldownMs?: number): TokenVerifier =>
    createTokenVerifier({ jwksUrl, issuer: facts.issuer, audience: facts.audience, ...(cooldownMs === undefined ? {} : { keysRefetchCooldownMs: cooldownMs }) });

  const appWith = async (verifier: TokenVerifier): Promise<App> => {
    const { app } = await createService({ name: 'probe', logLevel: 'silent' });
    await app.register(async (scope: App) => {
      scope.addHook('onRequest', authenticate(verifier));
      scope.get('/whoami', async (request) => {
        const caller = callerOf(request);
        return { subject: caller.subject, kind: caller.kind, scopes: [...caller.scopes] };
      });
      scope.get('/operators', { onRequest: requireScope(scopes.operator) }, async () => ({ ok: true }));
    });
    await app.ready();
    return app;
  };

  const call = (token: string | undefined, target: App = app, authorization = token === undefined ? undefined : `Bearer ${token}`) =>
    target.inject({ method: 'GET', url: '/whoami', headers: authorization === undefined ? {} : { authorization } });

  const assertInvalid = (response: Awaited<ReturnType<typeof call>>, what: string) => {
    assert.equal(response.statusCode, 401, `${what}: ${response.body}`);
    assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8', what);
    assert.equal(response.headers['www-authenticate'], INVALID_TOKEN_CHALLENGE, what);
    assert.deepEqual(response.json(), invalidBody, `${what}: the same answer for every reason`);
  };

  before(async () => {
    key = await newKey();
    published = [key];
    server = createServer((request, response) => {
      if (request.url !== '/.well-known/jwks.json') return void response.writeHead(404).end();
      fetches++;
      if (jwksStatus !== 200) return void response.writeHead(jwksStatus).end();
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((k) => k.jwk) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
    app = await appWith(verifierFor());
  });

  after(async () => {
    await app?.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  test('accepts a token of the alias service: people and clients', async () => {
    const person = await call(await validToken(key, facts));
    assert.equal(person.statusCode, 200, person.body);
    assert.deepEqual(person.json(), { subject: facts.subject, kind: 'user', scopes: [scopes.user] });

    const client = await call(await validToken(key, facts, { sub: 'svc-account', client_id: 'svc-account', scope: scopes.internal }));
    assert.deepEqual(client.json(), { subject: 'svc-account', kind: 'client', scopes: [scopes.internal] });
    // RFC 9068 allows the media type form of typ; the auth scheme is case-insensitive (RFC 7235).
    const mediaType = await sign(key.key, { alg: 'ES256', typ: 'application/at+jwt', kid: key.kid }, claimsOf(facts));
    assert.equal((await call(mediaType)).statusCode, 200);
    assert.equal((await call(undefined, app, `bearer ${await validToken(key, facts)}`)).statusCode, 200);
  });

  test('refuses every forged token with the same 401 and an invalid_token challenge', async () => {
    const realToken = await validToken(key, facts);
    const forged = [
      ...(await keylessForgeries({ publicJwk: key.jwk, realToken, refreshToken: 'kR3m9kQ0yVbqQxLr6vC2pWf8sTn4uHj1eGa7dZo5iYc', facts })),
      ...(await signedForgeries(key, facts)),
    ];
    for (const { name, token } of forged) assertInvalid(await call(token), name);
    for (const authorization of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer <script>']) assertInvalid(await call(undefined, app, authorization), authorization);
  });

  test('without a bearer token: 401 with a plain Bearer challenge', async () => {
    for (const authorization of [undefined, 'Basic YWxpY2U6cGFzcw==', 'Token abc']) {
      const response = await call(undefined, app, authorization);
      assert.equal(response.statusCode, 401, String(authorization));
      assert.equal(response.headers['www-authenticate'], 'Bearer');
      assert.equal(response.json().code, 'unauthorized');
    }
  });

  test(`a clock difference of up to ${CLOCK_TOLERANCE_SECONDS} s is tolerated on exp, nbf and iat, not more`, async () => {
    const t = Math.floor(Date.now() / 1000);
    const within = CLOCK_TOLERANCE_SECONDS - 10;
    const beyond = CLOCK_TOLERANCE_SECONDS + 10;
    const cases: [string, Record<string, unknown>, number][] = [
      ['exp just past', { iat: t - 300, exp: t - within }, 200],
      ['exp past the tolerance', { iat: t - 300, exp: t - beyond }, 401],
      ['nbf just ahead', { nbf: t + within }, 200],
      ['nbf beyond the tolerance', { nbf: t + beyond }, 401],
      ['iat just ahead', { iat: t + within, exp: t + 300 }, 200],
      ['iat beyond the tolerance', { iat: t + beyond, exp: t + 300 }, 401],
    ];
    for (const [what, claims, status] of cases) {
      const response = await call(await sign(key.key, { alg: 'ES256', typ: 'at+jwt', kid: key.kid }, claimsOf(facts, claims)));
      assert.equal(response.statusCode, status, `${what}: ${response.body}`);
    }
  });

  test('a 403 for a valid token without the scope is not a 401', async () => {
    const response = await app.inject({ method: 'GET', url: '/operators', headers: { authorization: `Bearer ${await validToken(key, facts)}` } });
    assert.equal(response.statusCode, 403);
    assert.equal(response.json().code, 'forbidden');
    assert.equal(response.headers['www-authenticate'], undefined);
  });

  test('unknown kids fetch the key set at most once per cooldown; a new key is found after it', async () => {
    const cooldownMs = 400;
    const probe = await appWith(verifierFor(cooldownMs));
    try {
      const first = fetches;
      assert.equal((await call(await validToken(key, facts), probe)).statusCode, 200);
      assert.equal(fetches, first + 1, 'the key set is fetched once, then cached');

      // A flood of tokens naming kids nobody published, some at once, some one after another.
      const other = await newKey();
      const unknown = () => validToken({ kid: `unknown-${randomUUID()}`, key: other.key }, facts);
      const burst = await Promise.all(Array.from({ length: 25 }, async () => call(await unknown(), probe)));
      for (const response of burst) assertInvalid(response, 'unknown kid');
      for (let i = 0; i < 25; i++) assertInvalid(await call(await unknown(), probe), 'unknown kid');
      assert.equal(fetches, first + 1, 'within the cooldown, no fetch at all');

      // The alias service rotates: a token signed by the new key is accepted once the cooldown is over.
      const rotated = await newKey();
      published = [rotated, key];
      await new Promise((resolve) => setTimeout(resolve, cooldownMs + 50));
      const flood = await Promise.all(Array.from({ length: 25 }, async () => call(await validToken(rotated, facts), probe)));
      for (const response of flood) assert.equal(response.statusCode, 200);
      assert.equal(fetches, first + 2, 'one fetch for the whole burst');
      for (let i = 0; i < 10; i++) assertInvalid(await call(await unknown(), probe), 'unknown kid after the refetch');
      assert.equal(fetches, first + 2);
    } finally {
      published = [key];
      await probe.close();
    }
  });

  test('a key set that cannot be fetched is 503 dependency_unavailable, not 401 or 500', async () => {
    jwksStatus = 500;
    const probe = await appWith(verifierFor());
    try {
      const response = await call(await validToken(key, facts), probe);
      assert.equal(response.statusCode, 503, response.body);
      assert.equal(response.json().code, 'dependency_unavailable');
      // Forgeries refused on their header alone never ask for the keys.
      const before = fetches;
      assertInvalid(await call(`${Buffer.from('{"alg":"none"}').toString('base64url')}.e30.`, probe), 'alg none');
      assert.equal(fetches, before);
    } finally {
      jwksStatus = 200;
      await probe.close();
    }
    const down = await appWith(createTokenVerifier({ jwksUrl: 'http://127.0.0.1:9/.well-known/jwks.json', issuer: facts.issuer, audience: facts.audience }));
    try {
      const response = await call(await validToken(key, facts), down);
      assert.equal(response.statusCode, 503, response.body);
    } finally {
      await down.close();
    }
  });
});
