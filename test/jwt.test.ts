// Forged and malformed access tokens are refused by the gateway and by every service reached directly:
// 401 problem+json `unauthorized`, `WWW-Authenticate: Bearer error="invalid_token"`, the same body
// whatever the reason. Tokens that need a valid signature with one bad claim are signed with the
// alias service's own key, read from its table (real mode only: the test owns that database).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, type JWK } from 'jose';
import { commonConfig, scopes } from '@wallet/kit';
import { needsInfra } from '@wallet/testkit';
import { keylessForgeries, signedForgeries, signingKey, validToken, type ForgedToken, type TokenFacts } from './support/forged-tokens.ts';
import { startEmbeddedStack, startRealStack, type Stack } from './support/stack.ts';
import { until, WalletClient } from './support/client.ts';
// The routes meant to be reached without a token, as the gateway lists them.
import { publicRoutes } from '../services/gateway/src/routes.ts';

const invalidBody = {
  type: 'https://wallet.dev/problems/unauthorized',
  title: 'A valid access token is required',
  status: 401,
  code: 'unauthorized',
  detail: 'The access token is not valid',
};

type Target = 'gateway' | 'alias' | 'account' | 'transaction' | 'balance';

async function send(base: string, method: string, path: string, token: string | undefined) {
  const body = method === 'GET' || method === 'DELETE' ? undefined : '{}';
  const response = await fetch(new URL(path, base), {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': randomUUID() }),
    },
    body,
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, headers: response.headers, body: json };
}

function assertRefused(reply: Awaited<ReturnType<typeof send>>, what: string) {
  assert.equal(reply.status, 401, `${what}: ${reply.status} ${JSON.stringify(reply.body)}`);
  assert.equal(reply.headers.get('content-type'), 'application/problem+json; charset=utf-8', what);
  assert.equal(reply.headers.get('www-authenticate'), 'Bearer error="invalid_token"', what);
  assert.deepEqual(reply.body, invalidBody, `${what}: nothing beyond "invalid token"`);
}

/** Logs in a fresh person with an account; returns what forging needs. */
async function person(stack: Stack, handle: string) {
  const client = new WalletClient(stack.gatewayUrl);
  const userId = await client.signUp(handle, 'Jo Tester');
  const login = await client.login(handle, 'correct horse battery');
  const accountId = await client.openAccount('USD');
  const jwks = (await client.get('/.well-known/jwks.json')).body as { keys: JWK[] };
  const kid = decodeProtectedHeader(client.token!).kid;
  const publicJwk = jwks.keys.find((k) => k.kid === kid);
  assert.ok(publicJwk, 'the token names a published key');
  return { client, userId, accountId, accessToken: client.token!, refreshToken: login.body.refresh_token as string, publicJwk };
}

describe('real mode: the gateway and each service refuse forged tokens', await needsInfra(), () => {
  let stack: Stack;
  let bases: Record<Target, string>;
  let probes: Record<Target, string>;
  let forged: ForgedToken[];
  let facts: TokenFacts;
  let signer: Awaited<ReturnType<typeof signingKey>>;
  let me: Awaited<ReturnType<typeof person>>;

  before(async () => {
    stack = await startRealStack();
    const { urls } = commonConfig(stack.env!);
    bases = { gateway: stack.gatewayUrl, alias: urls.alias, account: urls.account, transaction: urls.transaction, balance: urls.balance };
    me = await person(stack, 'jwt_ana');
    // One protected route per target; each answers 200 to a good token.
    probes = {
      gateway: '/v1/me',
      alias: '/v1/me',
      account: '/v1/accounts',
      transaction: `/v1/transfers?accountId=${me.accountId}`,
      balance: `/v1/accounts/${me.accountId}/balance`,
    };
    const kid = me.publicJwk.kid!;
    const { rows } = await stack.infra!.db.query<{ private_jwk: JWK }>(`SELECT private_jwk FROM alias.signing_keys WHERE kid = $1`, [kid]);
    assert.ok(rows[0], 'the signing key is in the alias schema');
    signer = await signingKey({ ...rows[0].private_jwk, kid });
    facts = { issuer: commonConfig(stack.env!).tokenIssuer, audience: commonConfig(stack.env!).tokenAudience, subject: me.userId, scope: scopes.user };
    forged = [...(await keylessForgeries({ publicJwk: me.publicJwk, realToken: me.accessToken, refreshToken: me.refreshToken, facts })), ...(await signedForgeries(signer, facts))];
  });
  after(async () => stack?.stop());

  test('controls: the issued token and one forged with nothing wrong are accepted everywhere', async () => {
    const forgedGood = await validToken(signer, facts);
    for (const target of Object.keys(bases) as Target[]) {
      // The balance read model learns of the account from an event.
      await until(async () => ((await send(bases[target], 'GET', probes[target], me.accessToken)).status === 200 ? true : undefined), `${target} to answer 200`);
      const reply = await send(bases[target], 'GET', probes[target], forgedGood);
      assert.equal(reply.status, 200, `${target}: ${JSON.stringify(reply.body)}`);
    }
  });

  test(`every forgery is 401 invalid_token at the gateway and at each service`, async () => {
    assert.ok(forged.length >= 45, `${forged.length} forgeries`);
    await Promise.all(
      (Object.keys(bases) as Target[]).map(async (target) => {
        for (const { name, token } of forged) assertRefused(await send(bases[target], 'GET', probes[target], token), `${target}: ${name}`);
      }),
    );
  });

  test('every protected route of every service refuses them, internal ones included; none is left open', async () => {
    const isOpen = (method: string, path: string) =>
      publicRoutes.some((r) => (r.methods as readonly string[]).includes(method) && (r.url.endsWith('/*') ? path.startsWith(r.url.slice(0, -1)) : r.url === path));
    const sample = forged.filter((f) => ['alg none, no signature', 'HS256 with the public key (PEM) as the secret', 'expired 2 min ago', 'wrong aud', 'typ JWT (an ID token)', 'a refresh token (opaque) as the access token'].includes(f.name));
    assert.equal(sample.length, 6);
    const fill = (path: string) =>
      path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'alias' ? '@jwt_ana' : name === 'currency' ? 'USD' : me.accountId));
    let checked = 0;
    for (const service of ['alias', 'account', 'transaction', 'balance'] as const) {
      const document = (await send(bases[service], 'GET', '/openapi.json', undefined)).body as { paths: Record<string, Record<string, unknown>> };
      for (const [path, operations] of Object.entries(document.paths)) {
        for (const method of Object.keys(operations).map((m) => m.toUpperCase())) {
          if (isOpen(method, path)) continue;
          const url = fill(path);
          // Directly, and through the gateway for the public paths (it never routes /internal).
          const via = path.startsWith('/internal/') ? [bases[service]] : [bases[service], bases.gateway];
          for (const base of via) {
            const what = `${method} ${url} at ${base === bases.gateway ? 'gateway' : service}`;
            const anonymous = await send(base, method, url, undefined);
            assert.equal(anonymous.status, 401, `${what} without a token: ${JSON.stringify(anonymous.body)}`);
            assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer', what);
            for (const { name, token } of sample) assertRefused(await send(base, method, url, token), `${what}: ${name}`);
            checked++;
          }
        }
      }
    }
    assert.ok(checked > 40, `${checked} routes checked`);
  });

  test('a flood of unknown kids costs the alias service at most one key-set fetch per verifier', async () => {
    const jwksFetches = async () => {
      const metrics = await (await fetch(`${bases.alias}/metrics`)).text();
      return metrics
        .split('\n')
        .filter((line) => line.startsWith('http_request_duration_seconds_count{') && line.includes('route="/.well-known/jwks.json"'))
        .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    };
    const before = await jwksFetches();
    const unknownKid = () => validToken({ kid: `unknown-${randomUUID()}`, key: signer.key }, facts);
    await Promise.all(
      (Object.keys(bases) as Target[]).map(async (target) => {
        const burst = await Promise.all(Array.from({ length: 20 }, async () => send(bases[target], 'GET', probes[target], await unknownKid())));
        for (const reply of burst) assertRefused(reply, `${target}: unknown kid`);
        for (let i = 0; i < 20; i++) assertRefused(await send(bases[target], 'GET', probes[target], await unknownKid()), `${target}: unknown kid`);
      }),
    );
    // Gateway, account, transaction and balance fetch over HTTP (30 s cooldown); alias reads its own table.
    const fetched = (await jwksFetches()) - before;
    assert.ok(fetched <= 4, `${fetched} key-set fetches for 200 unknown kids`);
  });
});

describe('embedded mode: the gateway refuses forgeries made without the key', () => {
  let stack: Stack;
  before(async () => {
    stack = await startEmbeddedStack();
  });
  after(async () => stack?.stop());

  test('alg none, HS256/RS256/ES384, other keys, unknown kids, tampered and opaque tokens', async () => {
    const me = await person(stack, 'jwt_emb');
    const facts = { issuer: 'wallet', audience: 'wallet-api', subject: me.userId, scope: scopes.operator };
    const forged = await keylessForgeries({ publicJwk: me.publicJwk, realToken: me.accessToken, refreshToken: me.refreshToken, facts });
    assert.equal((await send(stack.gatewayUrl, 'GET', '/v1/me', me.accessToken)).status, 200);
    for (const path of ['/v1/me', '/v1/accounts', `/v1/accounts/${me.accountId}/balance`, '/v1/deposits']) {
      const method = path === '/v1/deposits' ? 'POST' : 'GET';
      for (const { name, token } of forged) assertRefused(await send(stack.gatewayUrl, method, path, token), `${method} ${path}: ${name}`);
    }
  });
});
