// The gateway in front of fake services (which record what reaches them), with a test token issuer
// and the real Redis for rate limits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRedisCache, type Env, type Infra, type RunningService } from '@wallet/kit';
import { createTestInfra, needsInfra, startTestIssuer, type TestInfra, type TestIssuer } from '@wallet/testkit';
import { createGatewayService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { rateLimitKeyPrefix } from '../src/rate-limit.ts';
import { closedPortUrl, rawRequest, startFakeUpstream, type FakeUpstream } from './fake-upstream.ts';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const generous = { RATE_LIMIT_CALLER_MAX: '10000', RATE_LIMIT_ANONYMOUS_MAX: '10000', RATE_LIMIT_CREDENTIALS_MAX: '10000' };

describe('gateway', { concurrency: false, ...(await needsInfra()) }, () => {
  let infra: TestInfra;
  let issuer: TestIssuer;
  let upstreams: Record<'alias' | 'account' | 'transaction' | 'balance', FakeUpstream>;
  const running: RunningService[] = [];
  let gateway: RunningService;
  let userToken: string;

  const env = (overrides: Env = {}): Env => ({
    ...infra.env,
    ...issuer.env,
    ALIAS_URL: upstreams.alias.url,
    ACCOUNT_URL: upstreams.account.url,
    TRANSACTION_URL: upstreams.transaction.url,
    BALANCE_URL: upstreams.balance.url,
    UPSTREAM_TIMEOUT_MS: '400',
    ...generous,
    ...overrides,
  });

  const startGateway = async (overrides: Env = {}, withInfra: Infra = infra): Promise<RunningService> => {
    const service = await createGatewayService(loadConfig(env(overrides)), withInfra);
    running.push(service);
    await service.app.ready();
    return service;
  };

  const forwardedCount = () => Object.values(upstreams).reduce((sum, upstream) => sum + upstream.forwarded().length, 0);

  before(async () => {
    infra = await createTestInfra();
    issuer = await startTestIssuer();
    upstreams = {
      // The alias service publishes the signing keys; this one serves the test issuer's.
      alias: await startFakeUpstream('alias', {
        openApiPaths: ['/v1/users', '/v1/aliases/{alias}'],
        special: async (request, response) => {
          if (request.url !== '/.well-known/jwks.json') return false;
          const keys = await (await fetch(`${issuer.url}/.well-known/jwks.json`)).text();
          response.writeHead(200, { 'content-type': 'application/json' }).end(keys);
          return true;
        },
      }),
      account: await startFakeUpstream('account', { openApiPaths: ['/v1/accounts', '/v1/accounts/{id}'] }),
      transaction: await startFakeUpstream('transaction', {
        openApiPaths: ['/v1/transfers', '/v1/transfers/{id}'],
        special: async (request) => request.url === '/v1/transfers/slow', // never answers
      }),
      balance: await startFakeUpstream('balance', { openApiPaths: ['/v1/accounts/{id}/balance'] }),
    };
    gateway = await startGateway();
    userToken = await issuer.userToken(randomUUID());
  });

  after(async () => {
    for (const service of running) await service.stop();
    await Promise.all(Object.values(upstreams ?? {}).map((upstream) => upstream.close()));
    await issuer?.close();
    await infra?.destroy();
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  test('routes each public path to the service that owns it', async () => {
    const table: [string, string, keyof typeof upstreams, boolean][] = [
      ['POST', '/v1/users', 'alias', false],
      ['POST', '/v1/auth/token', 'alias', false],
      ['GET', '/.well-known/openid-configuration', 'alias', false],
      ['GET', '/v1/aliases/%40ana?currency=USD', 'alias', true],
      ['GET', '/v1/me', 'alias', true],
      ['POST', '/v1/me/aliases', 'alias', true],
      ['DELETE', '/v1/me/aliases/ana%40example.com', 'alias', true],
      ['GET', '/v1/accounts/3f1c/balance', 'balance', true],
      ['GET', '/v1/accounts/3f1c/balance/history?limit=5', 'balance', true],
      ['GET', '/v1/accounts/3f1c/statement?format=csv', 'transaction', true],
      ['POST', '/v1/transfers/batch', 'transaction', true],
      ['GET', '/v1/accounts', 'account', true],
      ['POST', '/v1/accounts', 'account', true],
      ['GET', '/v1/accounts/3f1c', 'account', true],
      ['POST', '/v1/accounts/3f1c/freeze', 'account', true],
      ['POST', '/v1/transfers', 'transaction', true],
      ['GET', '/v1/transfers/t-1', 'transaction', true],
      ['GET', '/v1/transfers?accountId=3f1c&cursor=a%2Bb%3D%3D&limit=2', 'transaction', true],
      ['POST', '/v1/deposits', 'transaction', true],
      ['POST', '/v1/withdrawals', 'transaction', true],
      ['POST', '/v1/holds', 'transaction', true],
      ['POST', '/v1/holds/h-1/void', 'transaction', true],
    ];
    for (const [method, url, expected, needsToken] of table) {
      const before = upstreams[expected].forwarded().length;
      const response = await gateway.app.inject({
        method: method as 'GET',
        url,
        headers: needsToken ? bearer(userToken) : {},
        ...(method === 'POST' ? { payload: {} } : {}),
      });
      assert.equal(response.statusCode, 200, `${method} ${url}: ${response.body}`);
      assert.equal(response.json().upstream, expected, `${method} ${url}`);
      const received = upstreams[expected].forwarded();
      assert.equal(received.length, before + 1);
      assert.equal(received.at(-1)!.url, url, 'path and query string pass unchanged');
      assert.equal(received.at(-1)!.method, method);
    }
  });

  test('passes bodies byte for byte and sets the forwarding headers', async () => {
    const body = '{"fromAccountId": "a",   "amount":"1050", "to":{"alias":"@ana"}, "n": 12345678901234567890}';
    const response = await gateway.app.inject({
      method: 'POST',
      url: '/v1/transfers',
      headers: {
        ...bearer(userToken),
        'content-type': 'application/json; charset=utf-8',
        'idempotency-key': 'k-1',
        'x-caller-id': 'someone-else',
        'x-caller-scopes': 'wallet:operator',
        'x-user-id': 'forged',
        'x-forwarded-for': '6.6.6.6',
      },
      payload: body,
    });
    assert.equal(response.statusCode, 200);
    const received = upstreams.transaction.forwarded().at(-1)!;
    assert.equal(received.body, body);
    assert.equal(received.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(received.headers['idempotency-key'], 'k-1');
    assert.equal(received.headers.authorization, `Bearer ${userToken}`);
    assert.equal(received.headers['x-request-id'], response.headers['x-request-id']);
    assert.equal(received.headers['x-forwarded-for'], '127.0.0.1', 'the client address, not what the client claimed');
    assert.equal(received.headers['x-caller-id'], undefined);
    assert.equal(received.headers['x-caller-scopes'], undefined);
    assert.equal(received.headers['x-user-id'], undefined);
    assert.equal(response.headers['x-upstream'], 'transaction', "the service's response headers come back");

    const form = 'grant_type=password&username=%40ana&password=p%40ss+word';
    await gateway.app.inject({ method: 'POST', url: '/v1/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form });
    const token = upstreams.alias.forwarded().at(-1)!;
    assert.equal(token.body, form);
    assert.equal(token.headers['content-type'], 'application/x-www-form-urlencoded');
  });

  test('believes X-Forwarded-For only from trusted proxies', async () => {
    const behindProxy = await startGateway({ TRUSTED_PROXIES: '127.0.0.1' });
    const headers = { ...bearer(userToken), 'x-forwarded-for': '6.6.6.6, 203.0.113.7' };
    await behindProxy.app.inject({ method: 'GET', url: '/v1/me', headers, remoteAddress: '127.0.0.1' });
    assert.equal(upstreams.alias.forwarded().at(-1)!.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1', 'the chain up to the first untrusted hop');
    await behindProxy.app.inject({ method: 'GET', url: '/v1/me', headers, remoteAddress: '198.51.100.9' });
    assert.equal(upstreams.alias.forwarded().at(-1)!.headers['x-forwarded-for'], '198.51.100.9', 'an untrusted peer is the client');
  });

  test('never routes /internal, nor paths that climb into it', async () => {
    const serviceToken = await issuer.serviceToken('account');
    const before = forwardedCount();
    for (const url of ['/internal/accounts/3f1c', '/internal/aliases/%40ana', '/internal', '/INTERNAL/accounts/3f1c']) {
      const response = await gateway.app.inject({ method: 'GET', url, headers: bearer(serviceToken) });
      assert.equal(response.statusCode, 404, url);
      assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(response.json().code, 'not_found');
    }
    // Paths that would climb out of their route once a URL parser resolves them, sent raw.
    const address = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
    for (const path of [
      '/v1/accounts/../../internal/accounts/3f1c',
      '/v1/accounts/3f1c/../../../internal/accounts/3f1c',
      '/v1/accounts/%2e%2e/%2E%2E/internal/accounts/3f1c',
      '/v1/accounts/x%2F..%2F..%2Finternal%2Faccounts%2F3f1c',
      '/v1/accounts/x/%2e/y',
      '/v1/accounts/x/./y',
      '/v1/accounts/x\\..\\..\\internal',
    ]) {
      const response = await rawRequest(address, `GET ${path}`, bearer(serviceToken));
      assert.equal(response.status, 400, `${path}: ${response.status} ${response.body}`);
      assert.match(response.body, /"code":"validation_failed"/, path);
    }
    assert.equal(forwardedCount(), before, 'nothing reached a service');
  });

  test('keeps a valid incoming request id, replaces an invalid one, and returns it', async () => {
    const given = 'req-abc.123:x';
    const kept = await gateway.app.inject({ method: 'GET', url: '/v1/me', headers: { ...bearer(userToken), 'x-request-id': given } });
    assert.equal(kept.headers['x-request-id'], given);
    assert.equal(upstreams.alias.forwarded().at(-1)!.headers['x-request-id'], given);

    for (const headers of [{ 'x-request-id': 'has spaces and <html>' }, { 'x-request-id': 'x'.repeat(101) }, {}]) {
      const response = await gateway.app.inject({ method: 'GET', url: '/v1/me', headers: { ...bearer(userToken), ...headers } });
      const id = response.headers['x-request-id'];
      assert.match(String(id), uuidPattern);
      assert.equal(upstreams.alias.forwarded().at(-1)!.headers['x-request-id'], id);
    }
    const refused = await gateway.app.inject({ method: 'GET', url: '/v1/me', headers: { 'x-request-id': given } });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.headers['x-request-id'], given, 'errors carry the request id too');
  });

  test('401 without a valid token on protected routes, before reaching the service', async () => {
    const other = await startTestIssuer();
    try {
      const tokens: [string, Record<string, string>][] = [
        ['no token', {}],
        ['not a bearer token', { authorization: 'Basic YWxpY2U6cGFzcw==' }],
        ['garbage', bearer('not.a.jwt')],
        ['expired', bearer(await issuer.userToken(randomUUID(), { expiresInSeconds: -60 }))],
        ['signed by another key', bearer(await other.userToken(randomUUID()))],
      ];
      const before = forwardedCount();
      for (const [what, headers] of tokens) {
        for (const [method, url] of [
          ['GET', '/v1/accounts'],
          ['POST', '/v1/transfers'],
          ['GET', '/v1/accounts/3f1c/balance'],
          ['GET', '/v1/me'],
          ['GET', '/v1/users'],
        ] as const) {
          const response = await gateway.app.inject({ method, url, headers, ...(method === 'POST' ? { payload: {} } : {}) });
          assert.equal(response.statusCode, 401, `${what}: ${method} ${url}`);
          assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
          assert.equal(response.json().code, 'unauthorized');
        }
      }
      assert.equal(forwardedCount(), before, 'no request without a valid token reached a service');
    } finally {
      await other.close();
    }
  });

  test('public routes pass without a token', async () => {
    for (const [method, url] of [
      ['POST', '/v1/users'],
      ['POST', '/v1/auth/token'],
      ['GET', '/.well-known/jwks.json'],
    ] as const) {
      const response = await gateway.app.inject({ method, url, ...(method === 'POST' ? { payload: {} } : {}) });
      assert.equal(response.statusCode, 200, `${method} ${url}`);
    }
    for (const url of ['/healthz', '/metrics', '/openapi.json', '/docs']) {
      const response = await gateway.app.inject({ method: 'GET', url });
      assert.ok(response.statusCode < 400, `${url}: ${response.statusCode}`);
    }
  });

  test('413 problem for a body over the limit', async () => {
    const before = forwardedCount();
    const big = JSON.stringify({ description: 'x'.repeat(70 * 1024) });
    for (const [url, headers] of [
      ['/v1/transfers', bearer(userToken)],
      ['/v1/users', {}],
    ] as const) {
      const response = await gateway.app.inject({ method: 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload: big });
      assert.equal(response.statusCode, 413, url);
      assert.equal(response.json().code, 'payload_too_large');
    }
    assert.equal(forwardedCount(), before);
    const fits = await gateway.app.inject({ method: 'POST', url: '/v1/transfers', headers: bearer(userToken), payload: { description: 'x'.repeat(60 * 1024) } });
    assert.equal(fits.statusCode, 200);
  });

  test('429 with Retry-After past the per-caller limit, counted in Redis', async () => {
    const limited = await startGateway({ RATE_LIMIT_CALLER_MAX: '3', RATE_LIMIT_ANONYMOUS_MAX: '5', RATE_LIMIT_CREDENTIALS_MAX: '2' });
    const subject = randomUUID();
    const token = await issuer.userToken(subject);
    for (let i = 1; i <= 3; i++) {
      const ok = await limited.app.inject({ method: 'GET', url: '/v1/accounts', headers: bearer(token) });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.headers['ratelimit-limit'], '3');
      assert.equal(ok.headers['ratelimit-remaining'], String(3 - i));
    }
    const before = upstreams.account.forwarded().length;
    const refused = await limited.app.inject({ method: 'GET', url: '/v1/accounts', headers: bearer(token) });
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(refused.json().code, 'rate_limited');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(refused.headers['ratelimit-remaining'], '0');
    assert.equal(upstreams.account.forwarded().length, before, 'a refused request does not reach the service');

    // The counter is in Redis (shared by every gateway replica), with an expiry.
    const redis = infra.cache.redis!;
    assert.equal(await redis.get(`${rateLimitKeyPrefix}caller:${subject}`), '4');
    assert.ok((await redis.pttl(`${rateLimitKeyPrefix}caller:${subject}`)) > 0);
    // A second replica sharing Redis sees the same count.
    const replica = await startGateway({ RATE_LIMIT_CALLER_MAX: '3' });
    assert.equal((await replica.app.inject({ method: 'GET', url: '/v1/accounts', headers: bearer(token) })).statusCode, 429);

    // Another caller has their own budget.
    const other = await limited.app.inject({ method: 'GET', url: '/v1/accounts', headers: bearer(await issuer.userToken(randomUUID())) });
    assert.equal(other.statusCode, 200);
  });

  test('a tighter per-IP limit on sign-up and the token endpoint', async () => {
    const limited = await startGateway({ RATE_LIMIT_CALLER_MAX: '100', RATE_LIMIT_ANONYMOUS_MAX: '100', RATE_LIMIT_CREDENTIALS_MAX: '2' });
    const remoteAddress = '10.1.2.3';
    const statuses: number[] = [];
    for (const url of ['/v1/auth/token', '/v1/users', '/v1/auth/token', '/v1/users']) {
      statuses.push((await limited.app.inject({ method: 'POST', url, remoteAddress, payload: {} })).statusCode);
    }
    assert.deepEqual(statuses, [200, 200, 429, 429]);
    const elsewhere = await limited.app.inject({ method: 'POST', url: '/v1/auth/token', remoteAddress: '10.9.9.9', payload: {} });
    assert.equal(elsewhere.statusCode, 200, 'another address has its own budget');
    const signedIn = await limited.app.inject({ method: 'GET', url: '/v1/me', remoteAddress, headers: bearer(userToken) });
    assert.equal(signedIn.statusCode, 200, 'callers with a token are counted by subject');
  });

  test('requests without a valid token are counted per IP', async () => {
    const limited = await startGateway({ RATE_LIMIT_ANONYMOUS_MAX: '2' });
    const remoteAddress = '10.4.4.4';
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await limited.app.inject({ method: 'GET', url: '/v1/accounts', remoteAddress, headers: bearer('bad.token.here') })).statusCode);
    assert.deepEqual(statuses, [401, 401, 429]);
  });

  test('with Redis unreachable the limit is counted in memory and requests still pass', async () => {
    const deadRedis = createRedisCache('redis://127.0.0.1:1', { warn: () => undefined }, infra.namespace);
    try {
      const limited = await startGateway({ RATE_LIMIT_CALLER_MAX: '2', RATE_LIMIT_STORE_TIMEOUT_MS: '100' }, { ...infra, cache: deadRedis });
      const token = await issuer.userToken(randomUUID());
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await limited.app.inject({ method: 'GET', url: '/v1/accounts', headers: bearer(token) })).statusCode);
      assert.deepEqual(statuses, [200, 200, 429]);
    } finally {
      await deadRedis.close();
    }
  });

  test('503 problem when a service is down, 504 when it does not answer in time', async () => {
    const down = await startGateway({ BALANCE_URL: await closedPortUrl() });
    const response = await down.app.inject({ method: 'GET', url: '/v1/accounts/3f1c/balance', headers: bearer(userToken) });
    assert.equal(response.statusCode, 503);
    assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
    const problem = response.json();
    assert.equal(problem.code, 'dependency_unavailable');
    assert.doesNotMatch(response.body, /at .*\.(js|ts):\d+/, 'no stack trace');
    assert.ok(response.headers['x-request-id']);

    const post = await down.app.inject({ method: 'POST', url: '/v1/accounts/3f1c/balance', headers: bearer(userToken), payload: {} });
    assert.equal(post.statusCode, 503);

    const slow = await gateway.app.inject({ method: 'GET', url: '/v1/transfers/slow', headers: bearer(userToken) });
    assert.equal(slow.statusCode, 504);
    assert.equal(slow.json().code, 'upstream_timeout');
  });

  test('serves one OpenAPI document merged from the services, without internal paths', async () => {
    const response = await gateway.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(response.statusCode, 200);
    const doc = response.json();
    for (const path of ['/v1/users', '/v1/aliases/{alias}', '/v1/accounts', '/v1/accounts/{id}', '/v1/transfers', '/v1/transfers/{id}', '/v1/accounts/{id}/balance']) {
      assert.ok(doc.paths[path], `has ${path}`);
    }
    for (const path of Object.keys(doc.paths)) {
      assert.doesNotMatch(path, /^\/(internal|healthz|readyz|metrics)/);
    }
    assert.ok(doc.components.schemas.AliasThing && doc.components.schemas.AccountThing && doc.components.schemas.BalanceThing);
    assert.ok(doc.components.securitySchemes.bearer);
    assert.equal(doc['x-unavailable-services'], undefined);

    const ui = await gateway.app.inject({ method: 'GET', url: '/docs/json' });
    assert.deepEqual(ui.json(), doc, 'Swagger UI shows the same document');
    const page = await gateway.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
  });

  test('the merged document leaves out a service that is down and keeps the others', async () => {
    const partial = await startGateway({ ACCOUNT_URL: await closedPortUrl(), DOCS_FETCH_TIMEOUT_MS: '500' });
    const doc = (await partial.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    assert.ok(doc.paths['/v1/transfers']);
    assert.equal(doc.paths['/v1/accounts'], undefined);
    assert.deepEqual(doc['x-unavailable-services'], ['account']);
  });

  test('ready when Redis and every service answer; degraded, still in rotation, when a service is down', async () => {
    const ready = await gateway.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200, ready.body);
    assert.equal(ready.json().status, 'ready');
    assert.deepEqual(ready.json().checks, { alias: true, account: true, transaction: true, balance: true, redis: true });
    const partial = await startGateway({ TRANSACTION_URL: await closedPortUrl() });
    const degraded = await partial.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(degraded.statusCode, 200);
    assert.equal(degraded.json().status, 'degraded');
    assert.equal(degraded.json().checks.transaction, false);
    assert.deepEqual(degraded.json().dependencies.transaction.state, 'down');
  });

  test('JWKS_URL overrides where the signing keys come from', async () => {
    const direct = await startGateway({ JWKS_URL: `${issuer.url}/.well-known/jwks.json`, ALIAS_URL: await closedPortUrl() });
    const response = await direct.app.inject({ method: 'GET', url: '/v1/accounts', headers: bearer(userToken) });
    assert.equal(response.statusCode, 200);
    const keysDown = await startGateway({ JWKS_URL: await closedPortUrl() });
    const unavailable = await keysDown.app.inject({ method: 'GET', url: '/v1/accounts', headers: bearer(userToken) });
    assert.equal(unavailable.statusCode, 503);
    assert.equal(unavailable.json().code, 'dependency_unavailable');
  });
});
