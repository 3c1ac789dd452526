// Who may do what, through the gateway and at each service directly, on one real stack:
// - a person acts only on their own accounts, balances, transfers, holds, statements and aliases;
// - the operator scope covers the admin actions (freeze, limits, deposits, withdrawals), and person
//   and service tokens get 403 there;
// - a token for a person's id without the wallet:user scope acts on nothing of theirs;
// - /internal/* on every service takes only wallet:internal client-credentials tokens (403 for the
//   others) and the gateway never routes it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, type JWK } from 'jose';
import { commonConfig, scopes } from '@wallet/kit';
import { needsInfra } from '@wallet/testkit';
import { signingKey, validToken } from './support/forged-tokens.ts';
import { startRealStack, type Stack } from './support/stack.ts';
import { until, WalletClient } from './support/client.ts';

type Service = 'alias' | 'account' | 'transaction' | 'balance';

interface Answer {
  status: number;
  body: { code?: string; [key: string]: unknown };
}

async function call(base: string, method: string, path: string, token: string | undefined, body?: unknown): Promise<Answer> {
  const withBody = body !== undefined || method === 'POST' || method === 'PUT';
  const response = await fetch(new URL(path, base), {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(withBody ? { 'content-type': 'application/json' } : {}),
      ...(method === 'POST' ? { 'idempotency-key': randomUUID() } : {}),
    },
    body: withBody ? JSON.stringify(body ?? {}) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : { text } };
}

/** The service a public path belongs to, as the gateway routes it. */
function serviceOf(path: string): Service {
  if (/^\/v1\/(me|aliases|users)\b/.test(path)) return 'alias';
  if (/^\/v1\/accounts\/[^/]+\/(balance|balance-alerts)\b/.test(path)) return 'balance';
  if (/^\/v1\/accounts\/[^/]+\/statement\b/.test(path)) return 'transaction';
  if (path.startsWith('/v1/accounts')) return 'account';
  return 'transaction';
}

describe('scopes and service identity', await needsInfra(), () => {
  let stack: Stack;
  let bases: Record<Service | 'gateway', string>;
  const ana = { id: '', account: '', token: '' };
  const bob = { id: '', account: '', token: '', transfer: '', hold: '', alert: '' };
  let operatorToken: string;
  let internalToken: string;

  /** Through the gateway and at the service itself: both must answer the same. */
  const both = async (method: string, path: string, token: string | undefined, body?: unknown): Promise<Answer[]> => [
    await call(bases.gateway, method, path, token, body),
    await call(bases[serviceOf(path.split('?')[0]!)], method, path, token, body),
  ];
  const expect = async (method: string, path: string, token: string | undefined, status: number, code?: string, body?: unknown) => {
    for (const [where, answer] of (await both(method, path, token, body)).entries()) {
      const what = `${method} ${path} ${where === 0 ? 'via the gateway' : `at ${serviceOf(path.split('?')[0]!)}`}`;
      assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
      if (code) assert.equal(answer.body.code, code, what);
    }
  };

  before(async () => {
    stack = await startRealStack();
    const { urls } = commonConfig(stack.env!);
    bases = { gateway: stack.gatewayUrl, alias: urls.alias, account: urls.account, transaction: urls.transaction, balance: urls.balance };
    const person = async (handle: string) => {
      const client = new WalletClient(stack.gatewayUrl);
      const id = await client.signUp(handle, `${handle} Tester`);
      return { client, id, account: await client.openAccount('USD') };
    };
    const [a, b, c] = await Promise.all([person('scope_ana'), person('scope_bob'), person('scope_cara')]);
    Object.assign(ana, { id: a.id, account: a.account, token: a.client.token });
    Object.assign(bob, { id: b.id, account: b.account, token: b.client.token });

    const operator = new WalletClient(stack.gatewayUrl);
    assert.equal((await operator.loginClient(stack.operator.id, stack.operator.secret)).status, 200);
    operatorToken = operator.token!;
    const service = new WalletClient(bases.alias);
    assert.equal((await service.loginClient('svc-balance', stack.env!.INTERNAL_CLIENT_SECRET!)).status, 200);
    internalToken = service.token!;

    for (const account of [ana.account, bob.account]) assert.equal((await operator.deposit(account, '10000')).status, 201);
    // Bob's own dealings with Cara, which Ana is no party to.
    const sent = await b.client.transfer({ fromAccountId: bob.account, to: { accountId: c.account }, amount: '700', currency: 'USD' });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    bob.transfer = sent.body.id as string;
    const held = await b.client.post('/v1/holds', { fromAccountId: bob.account, to: { accountId: c.account }, amount: '300', currency: 'USD' }, { 'idempotency-key': randomUUID() });
    assert.equal(held.status, 201, JSON.stringify(held.body));
    bob.hold = held.body.id as string;
    await until(async () => ((await b.client.balance(bob.account)).body.pending === '300' ? true : undefined), "Bob's balance to show the hold");
    const alert = await b.client.post(`/v1/accounts/${bob.account}/balance-alerts`, { below: '100' });
    assert.equal(alert.status, 201, JSON.stringify(alert.body));
    bob.alert = alert.body.id as string;
  });
  after(async () => stack?.stop());

  test("a person can neither read nor move another person's accounts, balances, transfers, holds, statements, alerts", async () => {
    const bobsState = async () => {
      const balance = await call(bases.balance, 'GET', `/v1/accounts/${bob.account}/balance`, bob.token);
      const hold = await call(bases.transaction, 'GET', `/v1/holds/${bob.hold}`, bob.token);
      const alerts = await call(bases.balance, 'GET', `/v1/accounts/${bob.account}/balance-alerts`, bob.token);
      return { balance: balance.body, hold: hold.body.status, alerts: alerts.body };
    };
    const before = await bobsState();
    const theirs = bob.account;
    const move = { fromAccountId: theirs, to: { accountId: ana.account }, amount: '100', currency: 'USD' };
    const matrix: [string, string, number, string, unknown?][] = [
      ['GET', `/v1/accounts/${theirs}`, 404, 'account_not_found'],
      ['PATCH', `/v1/accounts/${theirs}`, 404, 'account_not_found', { name: 'Mine now' }],
      ['GET', `/v1/accounts?ownerId=${bob.id}`, 403, 'forbidden'],
      ['GET', `/v1/accounts/${theirs}/balance`, 404, 'account_not_found'],
      ['GET', `/v1/accounts/${theirs}/balance?at=${encodeURIComponent(new Date().toISOString())}`, 404, 'account_not_found'],
      ['GET', `/v1/accounts/${theirs}/balance/history`, 404, 'account_not_found'],
      ['GET', `/v1/accounts/${theirs}/balance/stream`, 404, 'account_not_found'],
      ['GET', `/v1/accounts/${theirs}/balance-alerts`, 404, 'account_not_found'],
      ['POST', `/v1/accounts/${theirs}/balance-alerts`, 404, 'account_not_found', { below: '5000' }],
      ['DELETE', `/v1/accounts/${theirs}/balance-alerts/${bob.alert}`, 404, 'account_not_found'],
      ['GET', `/v1/accounts/${theirs}/statement`, 404, 'account_not_found'],
      ['GET', `/v1/accounts/${theirs}/statement?format=csv`, 404, 'account_not_found'],
      ['GET', `/v1/transfers/${bob.transfer}`, 404, 'transfer_not_found'],
      ['GET', `/v1/transfers?accountId=${theirs}`, 404, 'account_not_found'],
      ['GET', `/v1/holds/${bob.hold}`, 404, 'hold_not_found'],
      ['GET', `/v1/holds?accountId=${theirs}`, 404, 'account_not_found'],
      ['POST', '/v1/transfers', 404, 'account_not_found', move],
      ['POST', '/v1/transfers', 404, 'account_not_found', { ...move, to: { alias: '@scope_ana' } }],
      ['POST', '/v1/holds', 404, 'account_not_found', move],
      ['POST', `/v1/holds/${bob.hold}/post`, 404, 'hold_not_found', {}],
      ['POST', `/v1/holds/${bob.hold}/void`, 404, 'hold_not_found', {}],
      ['POST', `/v1/transfers/${bob.transfer}/reversals`, 404, 'transfer_not_found', {}],
      ['POST', `/v1/accounts/${theirs}/freeze`, 403, 'forbidden'],
      ['PUT', `/v1/accounts/${theirs}/limits`, 403, 'forbidden', { overdraftLimit: '100000' }],
    ];
    for (const [method, path, status, code, body] of matrix) await expect(method, path, ana.token, status, code, body);

    // A batch refuses the whole request or each transfer, never moves Bob's money.
    for (const atomic of [false, true]) {
      for (const answer of await both('POST', '/v1/transfers/batch', ana.token, { atomic, transfers: [move] })) {
        const refused = answer.status === 404 ? answer.body.code : (answer.body.results as { error?: { code: string } }[] | undefined)?.[0]?.error?.code;
        assert.equal(refused, 'account_not_found', `batch: ${JSON.stringify(answer.body)}`);
      }
    }

    // Their aliases: the lookup shows a masked name and the receiving account, nothing of the owner.
    const [lookup] = await both('GET', '/v1/aliases/@scope_bob?currency=USD', ana.token);
    assert.equal(lookup!.status, 200);
    assert.deepEqual(Object.keys(lookup!.body).sort(), ['accountId', 'alias', 'currency', 'displayName', 'type']);
    assert.equal(lookup!.body.displayName, 'scope_bob T.');
    for (const answer of await both('GET', '/v1/me/aliases', ana.token)) {
      const aliases = (answer.body.aliases as { alias: string }[]).map((a) => a.alias);
      assert.deepEqual(aliases, ['@scope_ana']);
    }
    for (const answer of await both('GET', '/v1/me', ana.token)) assert.equal(answer.body.id, ana.id);

    assert.deepEqual(await bobsState(), before, "nothing of Bob's changed");
  });

  test('admin actions need the operator scope: 403 for person and service tokens, even on their own account', async () => {
    // Money first: the ledger learns of a freeze and an unfreeze by event, a moment later.
    const admin: [string, string, unknown?][] = [
      ['POST', '/v1/deposits', { accountId: ana.account, amount: '100', currency: 'USD' }],
      ['POST', '/v1/withdrawals', { accountId: ana.account, amount: '100', currency: 'USD' }],
      ['PUT', `/v1/accounts/${ana.account}/limits`, { overdraftLimit: '5000' }],
      ['POST', `/v1/accounts/${ana.account}/freeze`],
      ['POST', `/v1/accounts/${ana.account}/unfreeze`],
    ];
    for (const [method, path, body] of admin) {
      for (const token of [ana.token, bob.token, internalToken]) await expect(method, path, token, 403, 'forbidden', body);
    }
    // The operator: each action once through the gateway and once directly.
    for (const [method, path, body] of admin) {
      for (const answer of await both(method, path, operatorToken, body)) assert.ok(answer.status === 200 || answer.status === 201, `${method} ${path}: ${JSON.stringify(answer.body)}`);
    }
    // Operators read anyone's account; people list only their own.
    await expect('GET', `/v1/accounts/${bob.account}`, operatorToken, 200);
    await expect('GET', `/v1/accounts?ownerId=${bob.id}`, operatorToken, 200);
    await expect('GET', `/v1/accounts/${bob.account}/balance`, operatorToken, 200);
    // Service tokens have no business on the people's routes.
    for (const path of ['/v1/accounts', `/v1/accounts/${bob.account}`, '/v1/me']) await expect('GET', path, internalToken, 403, 'forbidden');
  });

  test("a token for a person's id without wallet:user reaches nothing of theirs", async () => {
    // Signed with the alias service's real key (real mode: its table is ours to read), so only the
    // scope differs from the person's own token.
    const kid = decodeProtectedHeader(ana.token).kid!;
    const { rows } = await stack.infra!.db.query<{ private_jwk: JWK }>(`SELECT private_jwk FROM alias.signing_keys WHERE kid = $1`, [kid]);
    const signer = await signingKey({ ...rows[0]!.private_jwk, kid });
    const config = commonConfig(stack.env!);
    const tokenWith = (scope: string) => validToken(signer, { issuer: config.tokenIssuer, audience: config.tokenAudience, subject: ana.id, scope });
    const reads = [
      '/v1/me',
      '/v1/me/aliases',
      `/v1/accounts/${ana.account}`,
      `/v1/accounts/${ana.account}/balance`,
      `/v1/accounts/${ana.account}/balance/history`,
      `/v1/accounts/${ana.account}/balance-alerts`,
      `/v1/accounts/${ana.account}/statement`,
      `/v1/transfers?accountId=${ana.account}`,
      `/v1/holds?accountId=${ana.account}`,
    ];
    const control = await tokenWith(scopes.user);
    for (const path of reads) await expect('GET', path, control, 200);
    const send = { fromAccountId: ana.account, to: { alias: '@scope_bob' }, amount: '1', currency: 'USD' };
    for (const scope of [scopes.internal, 'profile', 'wallet:users']) {
      const token = await tokenWith(scope);
      for (const path of reads) await expect('GET', path, token, 403, 'forbidden');
      await expect('POST', '/v1/transfers', token, 403, 'forbidden', send);
      await expect('POST', '/v1/holds', token, 403, 'forbidden', send);
      await expect('POST', `/v1/accounts/${ana.account}/balance-alerts`, token, 403, 'forbidden', { below: '1' });
    }
  });

  test('/internal/* takes only wallet:internal tokens, at every service; the gateway never routes it', async () => {
    const internal: [Service, string, string, unknown?][] = [
      ['alias', 'GET', '/internal/aliases/@scope_ana?currency=USD'],
      ['account', 'GET', `/internal/accounts/${ana.account}`],
      ['account', 'PUT', '/internal/settlement-accounts/USD'],
      ['transaction', 'GET', `/internal/accounts/${ana.account}/entries?afterSequence=0&limit=10`],
      ['transaction', 'GET', `/internal/accounts/${ana.account}/balance`],
      ['transaction', 'GET', '/internal/balances?limit=10'],
      ['transaction', 'POST', '/internal/balances/at', { positions: [{ accountId: ana.account, sequence: '1' }] }],
    ];
    for (const [service, method, path, body] of internal) {
      const what = `${method} ${path} at ${service}`;
      assert.equal((await call(bases[service], method, path, undefined, body)).status, 401, what);
      for (const token of [ana.token, operatorToken]) {
        const answer = await call(bases[service], method, path, token, body);
        assert.equal(answer.status, 403, `${what}: ${JSON.stringify(answer.body)}`);
        assert.equal(answer.body.code, 'forbidden');
      }
      const served = await call(bases[service], method, path, internalToken, body);
      assert.equal(served.status, 200, `${what} with a service token: ${JSON.stringify(served.body)}`);
      for (const token of [undefined, ana.token, operatorToken, internalToken]) {
        const answer = await call(bases.gateway, method, path, token, body);
        assert.equal(answer.status, 404, `${what} via the gateway`);
        assert.equal(answer.body.code, 'not_found');
      }
    }
    // The balance service has no internal routes: nothing there answers a service token.
    assert.equal((await call(bases.balance, 'GET', `/internal/accounts/${ana.account}/balance`, internalToken)).status, 404);
    for (const path of ['/internal', '/internal/', '/INTERNAL/accounts/x', '/Internal/balances']) {
      assert.equal((await call(bases.gateway, 'GET', path, internalToken)).status, 404, path);
    }
  });
});
