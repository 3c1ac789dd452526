// Calls between services against a server played here: which calls are retried (GET, PUT, read-only
// POST, the token request) and which never are (POST), the breaker failing fast with Retry-After,
// and the signing keys kept while the alias service is away.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { validToken } from '../../../test/support/forged-tokens.ts';
import { createTokenVerifier, scopes } from './auth.ts';
import { ProblemError } from './errors.ts';
import { clientCredentials, createServiceClient } from './http-client.ts';

interface Played {
  url: string;
  hits: Map<string, number>;
  /** The status each path answers. */
  status: Map<string, number>;
  body: Map<string, unknown>;
  close(): Promise<void>;
}

async function playServer(): Promise<Played> {
  const hits = new Map<string, number>();
  const status = new Map<string, number>();
  const body = new Map<string, unknown>();
  const server: Server = createServer((request, response) => {
    const path = `${request.method} ${request.url}`;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    request.resume();
    request.on('end', () => {
      response.writeHead(status.get(path) ?? 200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body.get(path) ?? { ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    status,
    body,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function problemOf(call: Promise<unknown>): Promise<ProblemError> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof ProblemError, String(error));
    return error;
  }
  assert.fail('the call succeeded');
}

describe('service client retries and breaker', () => {
  let played: Played;
  before(async () => {
    played = await playServer();
  });
  after(() => played.close());

  test('a GET, a PUT and a read-only POST are retried on 5xx (3 attempts); a POST never is', async () => {
    // A client each: five failures in a row would open one client's breaker.
    const client = () => createServiceClient({ name: 'played', baseUrl: played.url });
    for (const path of ['/get', '/put', '/query', '/post']) played.status.set(`${path === '/get' ? 'GET' : path === '/put' ? 'PUT' : 'POST'} ${path}`, 500);
    assert.equal((await problemOf(client().get('/get'))).code, 'dependency_unavailable');
    assert.equal((await problemOf(client().put('/put', {}))).code, 'dependency_unavailable');
    assert.equal((await problemOf(client().query('/query', {}))).code, 'dependency_unavailable');
    const refused = await problemOf(client().post('/post', {}));
    assert.equal(refused.code, 'dependency_unavailable');
    assert.equal(played.hits.get('GET /get'), 3);
    assert.equal(played.hits.get('PUT /put'), 3);
    assert.equal(played.hits.get('POST /query'), 3);
    assert.equal(played.hits.get('POST /post'), 1);
  });

  test('a 4xx is an answer: not retried, returned', async () => {
    const client = createServiceClient({ name: 'played', baseUrl: played.url });
    played.status.set('GET /missing', 404);
    assert.equal((await client.get('/missing')).status, 404);
    assert.equal(played.hits.get('GET /missing'), 1);
  });

  test('once the breaker opens, calls fail at once without reaching the service, with Retry-After 5 s; closed, it calls again', async () => {
    const client = createServiceClient({ name: 'played', baseUrl: played.url });
    played.status.set('POST /failing', 503);
    for (let i = 0; i < 5; i++) await problemOf(client.post('/failing', {}));
    assert.ok(client.breaker.opened, 'the breaker opened after 5 failures in 5 calls');
    const reached = played.hits.get('POST /failing');
    const started = performance.now();
    const fast = await problemOf(client.post('/failing', {}));
    assert.ok(performance.now() - started < 100, 'an open breaker answers without waiting');
    assert.equal(fast.code, 'dependency_unavailable');
    assert.equal(fast.retryAfterSeconds, 5);
    assert.equal(played.hits.get('POST /failing'), reached, 'the service was not called');
    // After resetTimeout (5 s) one trial call goes through and, answered, closes the breaker (the
    // end-to-end test in test/resilience waits for it); here it is closed as that trial would.
    played.status.set('POST /failing', 200);
    client.breaker.close();
    assert.equal((await client.post('/failing', {})).status, 200);
  });

  test('a service that cannot be reached is dependency_unavailable with Retry-After 1 s', async () => {
    const closed = await playServer();
    await closed.close();
    const client = createServiceClient({ name: 'gone', baseUrl: closed.url });
    const started = performance.now();
    const problem = await problemOf(client.get('/x'));
    assert.equal(problem.code, 'dependency_unavailable');
    assert.equal(problem.retryAfterSeconds, 1);
    assert.ok(performance.now() - started < 2000, 'refused connections fail fast, retries included');
  });

  test('a call that times out is not retried: a hung service costs one timeout, not three', async () => {
    const hung = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    let reached = 0;
    hung.on('request', () => reached++);
    try {
      const client = createServiceClient({ name: 'hung', baseUrl: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`, timeoutMs: 300 });
      const started = performance.now();
      assert.equal((await problemOf(client.get('/x'))).code, 'dependency_unavailable');
      assert.ok(performance.now() - started < 900, 'one timeout');
      assert.equal(reached, 1);
    } finally {
      hung.closeAllConnections();
      await new Promise((resolve) => hung.close(resolve));
    }
  });

  test('the client-credentials token is retried on 5xx but not when refused; it is fetched once and reused', async () => {
    played.status.set('POST /token-5xx', 502);
    await problemOf(clientCredentials(`${played.url}/token-5xx`, 'svc', 'secret').token());
    assert.equal(played.hits.get('POST /token-5xx'), 3);
    played.status.set('POST /token-401', 401);
    const refused = await problemOf(clientCredentials(`${played.url}/token-401`, 'svc', 'wrong').token());
    assert.equal(refused.code, 'dependency_unavailable');
    assert.equal(played.hits.get('POST /token-401'), 1);
    played.body.set('POST /token', { access_token: 'a-token', expires_in: 300 });
    const tokens = clientCredentials(`${played.url}/token`, 'svc', 'secret');
    assert.equal(await tokens.token(), 'a-token');
    assert.equal(await tokens.token(), 'a-token');
    assert.equal(played.hits.get('POST /token'), 1);
  });
});

describe('signing keys while the alias service is away', () => {
  test('keys already fetched keep verifying past their age; an unknown key is a 503, not a 401', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = randomUUID();
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    const alias = await playServer();
    alias.body.set('GET /jwks', { keys: [jwk] });
    const facts = { issuer: 'wallet', audience: 'wallet-api', subject: randomUUID(), scope: scopes.user };
    const verifier = createTokenVerifier({ jwksUrl: `${alias.url}/jwks`, issuer: facts.issuer, audience: facts.audience, keysMaxAgeMs: 1, keysRefetchCooldownMs: 1 });
    const signer = { kid, key: privateKey };
    assert.equal((await verifier.verify(await validToken(signer, facts))).subject, facts.subject);
    await alias.close();
    await new Promise((resolve) => setTimeout(resolve, 20)); // past the key set's age
    // A new token (the verifier remembers tokens it has verified): the keys must be looked up again.
    const other = { ...facts, subject: randomUUID() };
    assert.equal((await verifier.verify(await validToken(signer, other))).subject, other.subject);
    const unknown = await problemOf(verifier.verify(await validToken({ kid: randomUUID(), key: privateKey }, facts)));
    assert.equal(unknown.code, 'dependency_unavailable');
  });
});

describe('service client over several instances', () => {
  let one: Played;
  let two: Played;
  /** Addresses nothing listens on (a played server, closed): refused connections. */
  let refused: string;
  let refusedToo: string;
  before(async () => {
    [one, two] = await Promise.all([playServer(), playServer()]);
    const closed = await Promise.all([playServer(), playServer()]);
    await Promise.all(closed.map((server) => server.close()));
    [refused, refusedToo] = closed.map((server) => server.url) as [string, string];
  });
  after(async () => {
    await Promise.all([one.close(), two.close()]);
  });

  test('calls go round the instances', async () => {
    const client = createServiceClient({ name: 'account', baseUrl: [one.url, two.url] });
    for (let i = 0; i < 6; i++) assert.equal((await client.get('/round')).status, 200);
    assert.deepEqual([one.hits.get('GET /round'), two.hits.get('GET /round')], [3, 3]);
    assert.equal(client.breakers.length, 2);
    assert.equal(client.breakers[1]!.name, `account ${two.url}`);
  });

  test('a POST whose connection was refused goes to another instance, once', async () => {
    const client = createServiceClient({ name: 'account', baseUrl: [refused, one.url] });
    for (let i = 0; i < 4; i++) assert.equal((await client.post('/moved', {})).status, 200);
    assert.equal(one.hits.get('POST /moved'), 4);
  });

  test('a POST answered 5xx is not sent to another instance', async () => {
    one.status.set('POST /failed', 500);
    const client = createServiceClient({ name: 'account', baseUrl: [one.url, two.url] });
    const problem = await problemOf(client.post('/failed', {}));
    assert.equal(problem.code, 'dependency_unavailable');
    assert.deepEqual([one.hits.get('POST /failed'), two.hits.get('POST /failed')], [1, undefined]);
  });

  test('an instance whose breaker opened is skipped until it half-opens', async () => {
    one.status.set('GET /sick', 500);
    const client = createServiceClient({ name: 'account', baseUrl: [one.url, two.url], getAttemptsMax: 1 });
    const answers: number[] = [];
    for (let i = 0; i < 20; i++) answers.push(await client.get('/sick').then((r) => r.status, () => 503));
    assert.ok(client.breakers[0]!.opened, 'the failing instance is shut off');
    assert.equal(one.hits.get('GET /sick'), 5, 'five failures open its breaker (volume threshold), then no more calls');
    assert.equal(answers.slice(10).every((status) => status === 200), true, `answers after the breaker opened: ${answers.join(',')}`);
    for (const breaker of client.breakers) breaker.shutdown();
  });

  test('every instance refused: 503 at once', async () => {
    const client = createServiceClient({ name: 'account', baseUrl: [refused, refusedToo] });
    const problem = await problemOf(client.post('/nowhere', {}));
    assert.equal(problem.code, 'dependency_unavailable');
  });
});
