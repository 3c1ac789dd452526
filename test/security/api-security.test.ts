// OWASP API security suite, on one real stack (five processes on PostgreSQL, RabbitMQ and Redis),
// through the gateway and at each service's own port. Every case is counted per category and every
// violation recorded; the last test prints the tally and fails if any violation was found.
//
// - BOLA: every route of every service's /openapi.json that takes an account, transfer, hold, alert
//   or alias id (path, query or body) must have a recipe below (a new route without one is a
//   violation); person B with A's ids gets 403/404 and A's state does not change.
// - Function level: person tokens on operator routes and on every /internal route listed by the
//   services (complements test/scopes.test.ts, which also covers service tokens and scopes).
// - Mass assignment: extra fields in create/update bodies are refused or ignored, nothing changes.
// - Every JSON answer is scanned for secrets (hashes, private keys, TOTP secrets) and for the other
//   person's data.
// - Amounts: malformed, out-of-range and mismatched amounts are 400/422, never 5xx, nothing moves;
//   a fast-check property over arbitrary values for transfers, holds and deposits.
// - Idempotency abuse, resource limits (body size, page size, slow clients, many connections),
//   login brute force and alias scraping (compact; the full tests are test/auth-hardening.test.ts and
//   test/alias-directory.test.ts). JWT forgeries are counted here and tested in test/jwt.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { decodeProtectedHeader, type JWK } from 'jose';
import { commonConfig, scopes } from '@wallet/kit';
import { needsInfra } from '@wallet/testkit';
import { keylessForgeries, signedForgeries, signingKey } from '../support/forged-tokens.ts';
import { startRealStack, type Stack } from '../support/stack.ts';
import { until, WalletClient } from '../support/client.ts';
import { openSocket, Prober, slowloris, Tally, trickle, type Answer, type Viewer } from './support/probe.ts';

type Service = 'alias' | 'account' | 'transaction' | 'balance';
type Base = Service | 'gateway';

/** The service a public path belongs to, as the gateway routes it. */
function serviceOf(path: string): Service {
  if (/^\/v1\/(me|aliases|users|auth|admin)\b/.test(path) || path.startsWith('/.well-known')) return 'alias';
  if (/^\/v1\/accounts\/[^/]+\/(balance|balance-alerts)\b/.test(path)) return 'balance';
  if (/^\/v1\/accounts\/[^/]+\/statement\b/.test(path)) return 'transaction';
  if (path.startsWith('/v1/accounts')) return 'account';
  return 'transaction';
}

interface Person {
  id: string;
  handle: string;
  displayName: string;
  account: string;
  viewer: Viewer;
  client: WalletClient;
}

const tally = new Tally();
const probe = new Prober(tally);

describe('OWASP API security suite (real mode, gateway and every service)', await needsInfra(), () => {
  let stack: Stack;
  let bases: Record<Base, string>;
  let ana: Person;
  let bob: Person;
  let cara: Person;
  let operator: Viewer;
  let internal: Viewer;
  const anas = { transfer: '', hold: '', alias: '', alert: '', incoming: '' };
  let bobsAlias = '';
  let slowStarted: Promise<{ closedAfterMs: number; answer: string }>[] = [];
  let slowStartedAt = 0;

  const at = (base: Base, method: string, path: string, viewer: Viewer | undefined, body?: unknown, headers?: Record<string, string>) =>
    probe.call(bases[base], method, path, viewer, body, headers);
  /** Through the gateway and at the owning service. */
  const both = async (method: string, path: string, viewer: Viewer | undefined, body?: unknown, headers?: Record<string, string>): Promise<[Base, Answer][]> => [
    ['gateway', await at('gateway', method, path, viewer, body, headers)],
    [serviceOf(path), await at(serviceOf(path), method, path, viewer, body, headers)],
  ];
  /** The ledger's own balance of an account (the transaction service, synchronous with money moves). */
  const ledger = async (account: string) => {
    const answer = await at('transaction', 'GET', `/internal/accounts/${account}/balance`, internal);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return JSON.stringify(answer.body);
  };
  const totals = async () => (await Promise.all([ana, bob, cara].map((p) => ledger(p.account)))).join('|');

  before(async () => {
    stack = await startRealStack({
      // Alias scraping is checked here with the real bucket; nothing else in the suite looks aliases up.
      ALIAS_LOOKUP_BUCKET_CAPACITY: '100',
      ALIAS_LOOKUP_REFILL_PER_MINUTE: '2',
    });
    const { urls } = commonConfig(stack.env!);
    bases = { gateway: stack.gatewayUrl, alias: urls.alias, account: urls.account, transaction: urls.transaction, balance: urls.balance };
    const person = async (handle: string, displayName: string): Promise<Person> => {
      const client = new WalletClient(stack.gatewayUrl);
      const id = await client.signUp(handle, displayName);
      return { id, handle, displayName, account: await client.openAccount('USD'), client, viewer: { token: client.token, foreign: [] } };
    };
    [ana, bob, cara] = await Promise.all([person('sec_ana', 'Anastasia Quill'), person('sec_bob', 'Bartholomew Zed'), person('sec_cara', 'Carabella Yew')]);
    // What each must never see of the others: their user ids and unmasked names.
    ana.viewer.foreign = [bob.id, cara.id, bob.displayName, cara.displayName];
    bob.viewer.foreign = [ana.id, cara.id, ana.displayName, cara.displayName];

    const op = new WalletClient(stack.gatewayUrl);
    assert.equal((await op.loginClient(stack.operator.id, stack.operator.secret)).status, 200);
    operator = { token: op.token, foreign: [] };
    const svc = new WalletClient(bases.alias);
    assert.equal((await svc.loginClient('svc-balance', stack.env!.INTERNAL_CLIENT_SECRET!)).status, 200);
    internal = { token: svc.token, foreign: [] };

    // Slow clients start now and are checked in the last test (the servers' request timeout is 30 s).
    slowStartedAt = Date.now();
    slowStarted = (['gateway', 'transaction'] as Base[]).map((base) => trickle(bases[base], '/v1/transfers', ana.viewer.token!, 1000));

    for (const p of [ana, bob, cara]) assert.equal((await op.deposit(p.account, '1000000')).status, 201);
    // Ana's own dealings with Cara, which Bob is no party to.
    const sent = await ana.client.transfer({ fromAccountId: ana.account, to: { accountId: cara.account }, amount: '700', currency: 'USD' });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    anas.transfer = sent.body.id as string;
    const incoming = await cara.client.transfer({ fromAccountId: cara.account, to: { accountId: ana.account }, amount: '500', currency: 'USD' });
    assert.equal(incoming.status, 201, JSON.stringify(incoming.body));
    anas.incoming = incoming.body.id as string;
    const held = await ana.client.post('/v1/holds', { fromAccountId: ana.account, to: { accountId: cara.account }, amount: '300', currency: 'USD' }, { 'idempotency-key': randomUUID() });
    assert.equal(held.status, 201, JSON.stringify(held.body));
    anas.hold = held.body.id as string;
    await until(async () => ((await ana.client.balance(ana.account)).body.pending === '300' ? true : undefined), "Ana's balance to show the hold");
    const alert = await ana.client.post(`/v1/accounts/${ana.account}/balance-alerts`, { below: '100' });
    assert.equal(alert.status, 201, JSON.stringify(alert.body));
    anas.alert = alert.body.id as string;
    const aliasOf = async (p: Person) => {
      const mine = await at('gateway', 'GET', '/v1/me/aliases', p.viewer);
      return (mine.body.aliases as { id: string }[])[0]!.id;
    };
    anas.alias = await aliasOf(ana);
    bobsAlias = await aliasOf(bob);
  });

  after(async () => {
    console.log(tally.report());
    await stack?.stop();
  });

  /** Everything of Ana's a refused request must leave alone. */
  const anasState = async () => {
    const reads = [
      `/v1/accounts/${ana.account}`,
      `/v1/holds/${anas.hold}`,
      `/v1/transfers/${anas.transfer}`,
      `/v1/accounts/${ana.account}/balance-alerts`,
      '/v1/me/aliases',
      '/v1/me',
    ];
    const answers = await Promise.all(reads.map((path) => at('gateway', 'GET', path, ana.viewer)));
    return { ledger: await ledger(ana.account), reads: answers.map((a) => a.text) };
  };

  test('BOLA: Bob with Ana\'s ids gets 403/404 on every id-taking route, and nothing of Ana\'s changes', async () => {
    type Recipe = { path: string; body?: unknown; why?: string }[];
    const now = encodeURIComponent(new Date().toISOString());
    const move = { fromAccountId: ana.account, to: { accountId: bob.account }, amount: '100', currency: 'USD' };
    // How to build a request for each id-taking route, with Ana's ids in every id position.
    const recipes: Record<string, Recipe> = {
      'POST /v1/me/aliases/{id}/verify': [{ path: `/v1/me/aliases/${anas.alias}/verify`, body: { code: '123456' } }],
      'POST /v1/me/aliases/{id}/resend': [{ path: `/v1/me/aliases/${anas.alias}/resend`, body: {} }],
      'PUT /v1/me/aliases/{id}/accounts/{currency}': [
        { path: `/v1/me/aliases/${anas.alias}/accounts/USD`, body: { accountId: bob.account } },
        { path: `/v1/me/aliases/${bobsAlias}/accounts/USD`, body: { accountId: ana.account }, why: "Ana's account behind Bob's alias" },
      ],
      'DELETE /v1/me/aliases/{id}/accounts/{currency}': [{ path: `/v1/me/aliases/${anas.alias}/accounts/USD` }],
      'DELETE /v1/me/aliases/{id}': [{ path: `/v1/me/aliases/${anas.alias}` }],
      'GET /v1/accounts': [{ path: `/v1/accounts?ownerId=${ana.id}` }],
      'GET /v1/accounts/{id}': [{ path: `/v1/accounts/${ana.account}` }],
      'PATCH /v1/accounts/{id}': [{ path: `/v1/accounts/${ana.account}`, body: { name: 'taken over' } }],
      'POST /v1/accounts/{id}/freeze': [{ path: `/v1/accounts/${ana.account}/freeze`, body: {} }],
      'POST /v1/accounts/{id}/unfreeze': [{ path: `/v1/accounts/${ana.account}/unfreeze`, body: {} }],
      'PUT /v1/accounts/{id}/limits': [{ path: `/v1/accounts/${ana.account}/limits`, body: { overdraftLimit: '100000' } }],
      'POST /v1/transfers': [{ path: '/v1/transfers', body: move }],
      'GET /v1/transfers': [{ path: `/v1/transfers?accountId=${ana.account}` }, { path: `/v1/transfers?accountId=${ana.account}&limit=100` }],
      'POST /v1/transfers/batch': [{ path: '/v1/transfers/batch', body: { transfers: [move] } }, { path: '/v1/transfers/batch', body: { atomic: true, transfers: [move] } }],
      'POST /v1/deposits': [{ path: '/v1/deposits', body: { accountId: ana.account, amount: '100', currency: 'USD' } }],
      'POST /v1/withdrawals': [{ path: '/v1/withdrawals', body: { accountId: ana.account, amount: '100', currency: 'USD' } }],
      'POST /v1/transfers/{id}/reversals': [{ path: `/v1/transfers/${anas.transfer}/reversals`, body: {} }, { path: `/v1/transfers/${anas.incoming}/reversals`, body: { amount: '1' } }],
      'GET /v1/transfers/{id}': [{ path: `/v1/transfers/${anas.transfer}` }, { path: `/v1/transfers/${anas.incoming}` }],
      'POST /v1/holds': [{ path: '/v1/holds', body: move }],
      'GET /v1/holds': [{ path: `/v1/holds?accountId=${ana.account}` }, { path: `/v1/holds?accountId=${ana.account}&status=pending` }],
      'POST /v1/holds/{id}/post': [{ path: `/v1/holds/${anas.hold}/post`, body: {} }, { path: `/v1/holds/${anas.hold}/post`, body: { amount: '1' } }],
      'POST /v1/holds/{id}/void': [{ path: `/v1/holds/${anas.hold}/void`, body: {} }],
      'GET /v1/holds/{id}': [{ path: `/v1/holds/${anas.hold}` }],
      'GET /v1/accounts/{id}/statement': [{ path: `/v1/accounts/${ana.account}/statement` }, { path: `/v1/accounts/${ana.account}/statement?format=csv` }],
      'GET /v1/accounts/{id}/balance': [
        { path: `/v1/accounts/${ana.account}/balance` },
        { path: `/v1/accounts/${ana.account}/balance?at=${now}` },
        { path: `/v1/accounts/${ana.account}/balance?minSequence=1` },
      ],
      'GET /v1/accounts/{id}/balance/stream': [{ path: `/v1/accounts/${ana.account}/balance/stream` }],
      'GET /v1/accounts/{id}/balance/history': [{ path: `/v1/accounts/${ana.account}/balance/history` }],
      'POST /v1/accounts/{id}/balance-alerts': [{ path: `/v1/accounts/${ana.account}/balance-alerts`, body: { below: '5000' } }],
      'GET /v1/accounts/{id}/balance-alerts': [{ path: `/v1/accounts/${ana.account}/balance-alerts` }],
      'DELETE /v1/accounts/{id}/balance-alerts/{alertId}': [
        { path: `/v1/accounts/${ana.account}/balance-alerts/${anas.alert}` },
        { path: `/v1/accounts/${bob.account}/balance-alerts/${anas.alert}`, why: "Ana's alert under Bob's account" },
      ],
    };
    // Id-taking routes that are not object-level checks by design, with the reason.
    const exempt: Record<string, string> = {
      'GET /v1/aliases/{alias}': 'the public alias directory (masked name + receiving account), rationed per person',
    };
    const idQuery = new Set(['accountId', 'ownerId']);
    const idBody = new Set(['accountId', 'fromAccountId', 'to', 'transfers']);
    const routes: string[] = [];
    for (const service of ['alias', 'account', 'transaction', 'balance'] as const) {
      const document = (await at(service, 'GET', '/openapi.json', undefined)).body as {
        paths: Record<string, Record<string, { parameters?: { in: string; name: string }[]; requestBody?: { content?: Record<string, { schema?: { properties?: object } }> } }>>;
      };
      for (const [path, operations] of Object.entries(document.paths)) {
        if (path.startsWith('/internal')) continue;
        for (const [method, operation] of Object.entries(operations)) {
          const takesId =
            /\{(?!currency\})[^}]+\}/.test(path) ||
            (operation.parameters ?? []).some((p) => p.in === 'query' && idQuery.has(p.name)) ||
            Object.keys(operation.requestBody?.content?.['application/json']?.schema?.properties ?? {}).some((k) => idBody.has(k));
          if (takesId) routes.push(`${method.toUpperCase()} ${path}`);
        }
      }
    }
    assert.ok(routes.length >= 25, `${routes.length} id-taking routes`);

    const before = await anasState();
    const totalsBefore = await totals();
    for (const route of routes) {
      if (exempt[route]) continue;
      const recipe = recipes[route];
      tally.check('BOLA', recipe !== undefined, `${route}: an id-taking route without a BOLA recipe in test/security/api-security.test.ts`);
      if (!recipe) continue;
      const method = route.split(' ')[0]!;
      for (const { path, body, why } of recipe) {
        for (const [where, answer] of await both(method, path, bob.viewer, body)) {
          let refused = answer.status === 403 || answer.status === 404;
          // A non-atomic batch answers per transfer: each must be refused.
          if (!refused && route === 'POST /v1/transfers/batch' && answer.status < 300) {
            refused = (answer.body.results as { status: number }[]).every((r) => r.status === 403 || r.status === 404);
          }
          tally.check('BOLA', refused, `${method} ${path}${why ? ` (${why})` : ''} as Bob at ${where}: ${answer.status} ${answer.text.slice(0, 200)}`);
        }
      }
    }
    assert.deepEqual(await anasState(), before, "nothing of Ana's changed");
    tally.check('BOLA', (await totals()) === totalsBefore, 'balances changed');
  });

  test('function level: person tokens on operator routes and on every internal route', async () => {
    const operatorRoutes: [string, string, unknown?][] = [
      ['POST', '/v1/deposits', { accountId: bob.account, amount: '100', currency: 'USD' }],
      ['POST', '/v1/withdrawals', { accountId: bob.account, amount: '100', currency: 'USD' }],
      ['PUT', `/v1/accounts/${bob.account}/limits`, { overdraftLimit: '5000' }],
      ['POST', `/v1/accounts/${bob.account}/freeze`, {}],
      ['POST', `/v1/accounts/${bob.account}/unfreeze`, {}],
      ['GET', '/v1/admin/signing-keys'],
      ['POST', '/v1/admin/signing-keys/rotate', {}],
      ['GET', `/v1/accounts?ownerId=${ana.id}`],
    ];
    const before = await totals();
    for (const [method, path, body] of operatorRoutes) {
      // Bob on his own account too: the scope decides, not ownership.
      for (const [where, answer] of await both(method, path, bob.viewer, body)) {
        tally.check('function level', answer.status === 403, `${method} ${path} as a person at ${where}: ${answer.status}`);
      }
    }
    // Every internal route each service lists: 403 for a person at the service, 404 via the gateway.
    const fill = (path: string) => path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'alias' ? '@sec_ana' : name === 'currency' ? 'USD' : ana.account));
    let internalRoutes = 0;
    for (const service of ['alias', 'account', 'transaction', 'balance'] as const) {
      const document = (await at(service, 'GET', '/openapi.json', undefined)).body as { paths: Record<string, Record<string, unknown>> };
      for (const [path, operations] of Object.entries(document.paths)) {
        if (!path.startsWith('/internal')) continue;
        for (const method of Object.keys(operations).map((m) => m.toUpperCase())) {
          internalRoutes++;
          const url = fill(path) + (path.includes('entries') ? '?afterSequence=0&limit=10' : '');
          const body = method === 'POST' || method === 'PUT' ? { positions: [{ accountId: ana.account, sequence: '1' }] } : undefined;
          for (const person of [ana, bob]) {
            const direct = await at(service, method, url, person.viewer, body);
            tally.check('function level', direct.status === 403, `${method} ${url} as a person at ${service}: ${direct.status}`);
            const routed = await at('gateway', method, url, person.viewer, body);
            tally.check('function level', routed.status === 404, `${method} ${url} as a person via the gateway: ${routed.status}`);
          }
        }
      }
    }
    assert.ok(internalRoutes >= 7, `${internalRoutes} internal routes`);
    tally.check('function level', (await totals()) === before, 'balances changed');
  });

  test('mass assignment: extra fields are refused or ignored; nothing changes', async () => {
    const extras = {
      balance: '999999999',
      posted: '999999999',
      available: '999999999',
      ownerId: bob.id,
      userId: bob.id,
      status: 'frozen',
      scope: scopes.operator,
      scopes: [scopes.operator, scopes.internal],
      role: 'operator',
      id: randomUUID(),
      createdAt: '2000-01-01T00:00:00.000Z',
      overdraftLimit: '1000000000',
      tier: 'unlimited',
      sequence: '999',
    };
    const injected = (answer: Answer) =>
      answer.text.includes(extras.id) || answer.text.includes('2000-01-01') || answer.text.includes('999999999') || answer.text.includes(bob.id) || answer.text.includes('unlimited');
    const refusedOrIgnored = (what: string, answer: Answer) =>
      tally.check('mass assignment', answer.status === 400 || (answer.status < 300 && !injected(answer)), `${what}: ${answer.status} ${answer.text.slice(0, 300)}`);
    const ledgerBefore = await ledger(ana.account);
    let moved = 0n;

    // Accounts: a new one (EUR, so it does not disturb the USD flows).
    for (const [where, answer] of await both('POST', '/v1/accounts', ana.viewer, { currency: 'EUR', name: 'extra', ...extras })) {
      refusedOrIgnored(`POST /v1/accounts at ${where}`, answer);
      if (answer.status === 201) {
        const account = answer.body.id as string;
        const read = await at('account', 'GET', `/v1/accounts/${account}`, ana.viewer);
        tally.check('mass assignment', read.body.status === 'active' && !injected(read), `the new account ${read.text}`);
        // The ledger learns of a new account by event, a moment later.
        const fresh = await until(async () => {
          const answer = await at('transaction', 'GET', `/internal/accounts/${account}/balance`, internal);
          return answer.status === 200 ? answer : undefined;
        }, 'the ledger to know the new account');
        tally.check('mass assignment', !fresh.text.includes('999999999') && !fresh.text.includes('1000000000'), `the new account has no money: ${fresh.text}`);
      }
    }
    // Profile and sign-up.
    for (const [where, answer] of await both('PATCH', '/v1/me', ana.viewer, { displayName: 'Anastasia Quill', ...extras })) refusedOrIgnored(`PATCH /v1/me at ${where}`, answer);
    const me = await at('gateway', 'GET', '/v1/me', ana.viewer);
    tally.check('mass assignment', me.body.id === ana.id && !injected(me), `GET /v1/me after: ${me.text}`);
    for (const base of ['gateway', 'alias'] as Base[]) {
      const handle = `sec_mass_${base}`;
      const answer = await at(base, 'POST', '/v1/users', undefined, { handle, password: 'correct horse battery', displayName: 'Mass Tester', ...extras });
      refusedOrIgnored(`POST /v1/users at ${base}`, answer);
      if (answer.status === 201) {
        const client = new WalletClient(stack.gatewayUrl);
        assert.equal((await client.login(handle, 'correct horse battery')).status, 200);
        const admin = await at('gateway', 'GET', '/v1/admin/signing-keys', { token: client.token, foreign: [] });
        tally.check('mass assignment', admin.status === 403, `a sign-up with scope extras got operator rights: ${admin.status}`);
      }
    }
    // Money: a transfer and a hold of 1 with extras; if accepted, exactly 1 moves.
    const send = { fromAccountId: ana.account, to: { accountId: bob.account }, amount: '1', currency: 'USD' };
    for (const path of ['/v1/transfers', '/v1/holds']) {
      for (const [where, answer] of await both('POST', path, ana.viewer, { ...send, ...extras, state: 'posted', postedAmount: '999999999' })) {
        refusedOrIgnored(`POST ${path} at ${where}`, answer);
        if (answer.status === 201) moved += 1n;
      }
    }
    for (const [where, answer] of await both('POST', `/v1/holds/${anas.hold}/void`, ana.viewer, { amount: '1', ...extras })) {
      // The payer may not void (payee or operator only): 400/403/404, and the extras change nothing.
      tally.check('mass assignment', answer.status >= 400 && answer.status < 500, `POST /v1/holds/{id}/void with extras at ${where}: ${answer.status}`);
    }
    for (const [where, answer] of await both('POST', `/v1/accounts/${ana.account}/balance-alerts`, ana.viewer, { below: '10', ...extras })) refusedOrIgnored(`POST balance-alerts at ${where}`, answer);
    for (const [where, answer] of await both('PUT', `/v1/accounts/${ana.account}/limits`, operator, { overdraftLimit: '0', balance: '999999999', ownerId: bob.id, status: 'frozen', id: extras.id })) {
      refusedOrIgnored(`PUT limits (operator) at ${where}`, answer);
    }
    // A rename (the owner's own account, to the name it has) with extras: only the name may change.
    const named = (await at('account', 'GET', `/v1/accounts/${ana.account}`, ana.viewer)).body.name as string;
    for (const [where, answer] of await both('PATCH', `/v1/accounts/${ana.account}`, ana.viewer, { name: named, ...extras })) refusedOrIgnored(`PATCH /v1/accounts/{id} at ${where}`, answer);
    const account = await at('account', 'GET', `/v1/accounts/${ana.account}`, ana.viewer);
    tally.check('mass assignment', account.body.status === 'active' && !injected(account), `Ana's account after: ${account.text}`);
    for (const [where, answer] of await both('POST', '/v1/me/aliases', ana.viewer, { type: 'random', ...extras, verified: true, accountId: bob.account })) refusedOrIgnored(`POST /v1/me/aliases at ${where}`, answer);

    const after = JSON.parse(await ledger(ana.account)) as Record<string, string>;
    const beforeJson = JSON.parse(ledgerBefore) as Record<string, string>;
    const postedKey = 'posted' in after ? 'posted' : 'balance';
    const spent = BigInt(beforeJson[postedKey] ?? '0') - BigInt(after[postedKey] ?? '0');
    tally.check('mass assignment', spent <= moved, `Ana's ledger moved ${spent}, accepted ${moved}: ${ledgerBefore} -> ${JSON.stringify(after)}`);
  });

  test('JWT forgeries: counted here, tested in test/jwt.test.ts', async () => {
    const kid = decodeProtectedHeader(ana.viewer.token!).kid!;
    const { rows } = await stack.infra!.db.query<{ private_jwk: JWK }>(`SELECT private_jwk FROM alias.signing_keys WHERE kid = $1`, [kid]);
    const signer = await signingKey({ ...rows[0]!.private_jwk, kid });
    const jwks = (await at('gateway', 'GET', '/.well-known/jwks.json', undefined)).body as { keys: JWK[] };
    const config = commonConfig(stack.env!);
    const facts = { issuer: config.tokenIssuer, audience: config.tokenAudience, subject: ana.id, scope: scopes.user };
    const forged = [...(await keylessForgeries({ publicJwk: jwks.keys.find((k) => k.kid === kid)!, realToken: ana.viewer.token!, facts })), ...(await signedForgeries(signer, facts))];
    // test/jwt.test.ts sends each to the gateway and the four services.
    tally.count('JWT (test/jwt.test.ts)', forged.length * 5);
  });

  test('amounts: malformed, out of range, mismatched — 400/422, never 5xx, nothing moves', async () => {
    const bad: unknown[] = [
      '-1', '-100', '0', '00', '-0', '1.5', '1.0', '0.01', '1e3', '1E3', '0x10', '0010', '01', ' 100', '100 ', '\t100', '100\n', '1 00', '1_000', '1,000',
      '+100', '', '١٢٣', '１２３', '१२३', '١٠٠', 'NaN', 'Infinity', '9007199254740993', '9223372036854775807', '9223372036854775808', '18446744073709551616',
      '99999999999999999999', '100000000001', 100, 1.5, -1, 0, 1e3, 2 ** 53 + 2, 9223372036854775808, null, true, [], {}, ['100'],
    ];
    const before = await totals();
    const check = (what: string, answer: Answer) =>
      tally.check('amounts', answer.status === 400 || answer.status === 422, `${what}: ${answer.status} ${answer.text.slice(0, 200)}`);
    for (const amount of bad) {
      const label = JSON.stringify(amount);
      for (const [where, a] of await both('POST', '/v1/transfers', ana.viewer, { fromAccountId: ana.account, to: { accountId: bob.account }, amount, currency: 'USD' })) check(`transfer ${label} at ${where}`, a);
      const hold = await at('gateway', 'POST', '/v1/holds', ana.viewer, { fromAccountId: ana.account, to: { accountId: bob.account }, amount, currency: 'USD' });
      check(`hold ${label}`, hold);
      const deposit = await at('transaction', 'POST', '/v1/deposits', operator, { accountId: ana.account, amount, currency: 'USD' });
      check(`deposit ${label}`, deposit);
      const post = await at('gateway', 'POST', `/v1/holds/${anas.hold}/post`, cara.viewer, { amount });
      if (amount !== '') check(`hold capture ${label}`, post);
    }
    // Currency mismatch, odd currencies, self-transfer.
    const mismatched: [string, unknown][] = [
      ['transfer EUR from a USD account', { fromAccountId: ana.account, to: { accountId: bob.account }, amount: '100', currency: 'EUR' }],
      ['transfer lower-case currency', { fromAccountId: ana.account, to: { accountId: bob.account }, amount: '100', currency: 'usd' }],
      ['transfer unknown currency', { fromAccountId: ana.account, to: { accountId: bob.account }, amount: '100', currency: 'XXX' }],
      ['transfer fullwidth currency', { fromAccountId: ana.account, to: { accountId: bob.account }, amount: '100', currency: 'ＵＳＤ' }],
      ['self-transfer', { fromAccountId: ana.account, to: { accountId: ana.account }, amount: '100', currency: 'USD' }],
      ['self-transfer by alias', { fromAccountId: ana.account, to: { alias: '@sec_ana' }, amount: '100', currency: 'USD' }],
    ];
    for (const [what, body] of mismatched) for (const [where, a] of await both('POST', '/v1/transfers', ana.viewer, body)) check(`${what} at ${where}`, a);
    for (const [where, a] of await both('POST', '/v1/holds', ana.viewer, { fromAccountId: ana.account, to: { accountId: ana.account }, amount: '100', currency: 'USD' })) check(`self-hold at ${where}`, a);
    for (const [where, a] of await both('POST', '/v1/deposits', operator, { accountId: ana.account, amount: '100', currency: 'EUR' })) check(`deposit EUR into a USD account at ${where}`, a);
    tally.check('amounts', (await totals()) === before, 'money moved on a refused amount');
  });

  test('amounts, property: arbitrary amount and currency values never give 5xx, and a refusal moves nothing', async () => {
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.stringMatching(/^[-+ 0]?[0-9]{0,25}([.,eE][0-9]{0,3})?$/),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const currency = fc.oneof(fc.constant('USD'), fc.constant('EUR'), fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }));
    const kinds = ['transfer', 'hold', 'deposit'] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...kinds), value, currency, async (kind, amount, cur) => {
        const before = await totals();
        const answer =
          kind === 'deposit'
            ? await at('gateway', 'POST', '/v1/deposits', operator, { accountId: cara.account, amount, currency: cur })
            : await at('gateway', 'POST', kind === 'transfer' ? '/v1/transfers' : '/v1/holds', ana.viewer, { fromAccountId: ana.account, to: { accountId: bob.account }, amount, currency: cur });
        tally.check('amounts (property)', answer.status < 500, `${kind} ${JSON.stringify(amount)} ${JSON.stringify(cur)}: ${answer.status} ${answer.text.slice(0, 200)}`);
        if (answer.status >= 400) tally.check('amounts (property)', (await totals()) === before, `${kind} ${JSON.stringify(amount)} refused but money moved`);
      }),
      { numRuns: 120 },
    );
  });

  test('idempotency abuse: altered body, another caller\'s key, concurrent replays', async () => {
    const key = randomUUID();
    const body = { fromAccountId: ana.account, to: { accountId: bob.account }, amount: '11', currency: 'USD' };
    const first = await at('gateway', 'POST', '/v1/transfers', ana.viewer, body, { 'idempotency-key': key });
    assert.equal(first.status, 201, first.text);
    for (const [where, a] of await both('POST', '/v1/transfers', ana.viewer, { ...body, amount: '12' }, { 'idempotency-key': key })) {
      tally.check('idempotency', a.status === 422 && a.body.code === 'idempotency_key_reused', `altered body, same key at ${where}: ${a.status} ${a.text.slice(0, 200)}`);
    }
    // Bob reuses Ana's key: with Ana's body he gets his own refusal, with his own body his own transfer.
    for (const [where, a] of await both('POST', '/v1/transfers', bob.viewer, body, { 'idempotency-key': key })) {
      tally.check('idempotency', a.status === 404 && !a.text.includes(first.body.id as string), `Bob with Ana's key and body at ${where}: ${a.status} ${a.text.slice(0, 200)}`);
    }
    const bobsKey = key;
    const own = await at('gateway', 'POST', '/v1/transfers', bob.viewer, { fromAccountId: bob.account, to: { accountId: cara.account }, amount: '13', currency: 'USD' }, { 'idempotency-key': bobsKey });
    tally.check('idempotency', own.status === 201 && own.body.id !== first.body.id && own.headers.get('idempotent-replayed') !== 'true', `Bob's own transfer with Ana's key: ${own.status} ${own.text.slice(0, 200)}`);
    // Concurrent: 20 identical requests with one key move the money once.
    const before = JSON.parse(await ledger(ana.account)) as Record<string, string>;
    const raceKey = randomUUID();
    const race = { ...body, amount: '17' };
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => at(i % 2 ? 'gateway' : 'transaction', 'POST', '/v1/transfers', ana.viewer, race, { 'idempotency-key': raceKey })),
    );
    const ids = new Set(answers.filter((a) => a.status < 300).map((a) => a.body.id));
    tally.check('idempotency', answers.every((a) => a.status === 200 || a.status === 201 || a.status === 409) && ids.size === 1, `concurrent same key: ${answers.map((a) => a.status).join(',')} ids ${ids.size}`);
    const afterRace = JSON.parse(await ledger(ana.account)) as Record<string, string>;
    const key2 = 'posted' in afterRace ? 'posted' : 'balance';
    tally.check('idempotency', BigInt(before[key2]!) - BigInt(afterRace[key2]!) === 17n, `concurrent same key moved ${BigInt(before[key2]!) - BigInt(afterRace[key2]!)}, not 17`);
  });

  test('resource limits: body size, page size, many connections, slowloris, slow bodies', async () => {
    // Oversized bodies: 413 at the gateway and at each service.
    const big = { fromAccountId: ana.account, to: { accountId: bob.account }, amount: '1', currency: 'USD', description: 'x'.repeat(100_000) };
    for (const [where, a] of await both('POST', '/v1/transfers', ana.viewer, big)) tally.check('resource limits', a.status === 413, `100 kB transfer at ${where}: ${a.status}`);
    for (const [where, a] of await both('PATCH', '/v1/me', ana.viewer, { displayName: 'x'.repeat(100_000) })) tally.check('resource limits', a.status === 413, `100 kB PATCH /v1/me at ${where}: ${a.status}`);
    const hugeBatch = { transfers: Array.from({ length: 1001 }, () => ({ ...big, description: 'x'.repeat(1100) })) };
    for (const [where, a] of await both('POST', '/v1/transfers/batch', ana.viewer, hugeBatch)) tally.check('resource limits', a.status === 413, `1.2 MB batch at ${where}: ${a.status}`);
    // Huge page sizes: refused, or capped at the documented 100.
    const pages = [
      `/v1/transfers?accountId=${ana.account}&limit=1000000`,
      `/v1/transfers?accountId=${ana.account}&limit=101`,
      `/v1/transfers?accountId=${ana.account}&limit=99999999999999999999`,
      `/v1/transfers?accountId=${ana.account}&limit=-1`,
      `/v1/holds?accountId=${ana.account}&limit=1000000`,
      `/v1/accounts/${ana.account}/statement?limit=1000000`,
      `/v1/accounts/${ana.account}/balance/history?from=1900-01-01&to=2100-01-01`,
    ];
    for (const path of pages) {
      for (const [where, a] of await both('GET', path, ana.viewer)) {
        const items = (a.body.items ?? a.body.entries ?? a.body.days) as unknown[] | undefined;
        tally.check('resource limits', a.status === 400 || (a.status === 200 && (items?.length ?? 0) <= 100), `${path} at ${where}: ${a.status}`);
      }
    }
    const transferWithin = async (ms: number, what: string) => {
      const started = Date.now();
      const health = await at('gateway', 'GET', '/healthz', undefined);
      const sent = await at('gateway', 'POST', '/v1/transfers', ana.viewer, { fromAccountId: ana.account, to: { accountId: bob.account }, amount: '1', currency: 'USD' });
      const took = Date.now() - started;
      tally.check('resource limits', health.status === 200 && sent.status === 201 && took < ms, `${what}: healthz ${health.status}, transfer ${sent.status}, ${took} ms`);
    };
    // 300 idle keep-alive connections to the gateway.
    const idle: Socket[] = await Promise.all(Array.from({ length: 300 }, () => openSocket(bases.gateway)));
    for (const s of idle) s.on('error', () => undefined);
    await transferWithin(5000, '300 idle connections');
    // Slowloris: 200 connections sending a header line every second.
    const lorises = await Promise.all(Array.from({ length: 200 }, () => slowloris(bases.gateway, 1000)));
    await transferWithin(5000, '200 slowloris connections');
    for (const base of ['transaction', 'balance'] as Base[]) {
      const more = await Promise.all(Array.from({ length: 100 }, () => slowloris(bases[base], 1000)));
      const started = Date.now();
      const health = await at(base, 'GET', '/healthz', undefined);
      tally.check('resource limits', health.status === 200 && Date.now() - started < 3000, `${base} /healthz under 100 slowloris connections: ${health.status}`);
      lorises.push(...more);
    }
    for (const s of [...idle, ...lorises]) s.destroy();
    // The slow bodies started before the first test: the servers cut them off (request timeout
    // 30 s, checked every second), well within 45 s of their start.
    const deadline = 45_000 - (Date.now() - slowStartedAt);
    const results = await Promise.race([Promise.all(slowStarted), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), Math.max(deadline, 1000)))]);
    tally.check('resource limits', results !== undefined, 'a slow body was not cut off within 45 s');
    console.log(`slow bodies cut off after ${(results ?? []).map((r) => `${r.closedAfterMs} ms (${r.answer || 'no answer'})`).join(', ')}`);
    for (const r of results ?? []) tally.check('resource limits', r.closedAfterMs < 45_000 && !r.answer.includes(' 201 '), `slow body: closed after ${r.closedAfterMs} ms, answer "${r.answer}"`);
  });

  test('login brute force and alias scraping hit their limits (compact; full tests elsewhere)', async () => {
    const guesser = new WalletClient(stack.gatewayUrl);
    let throttledAt = 0;
    for (let attempt = 1; attempt <= 12 && !throttledAt; attempt++) {
      const answer = await guesser.login('sec_bob', `wrong guess ${attempt}`);
      probe.scan('/v1/auth/token', JSON.stringify(answer.body), bob.viewer);
      if (answer.status === 429) throttledAt = attempt;
      else tally.check('brute force', answer.status === 400 || answer.status === 401, `wrong password ${attempt}: ${answer.status}`);
    }
    tally.check('brute force', throttledAt > 0 && throttledAt <= 11, `password guessing throttled at attempt ${throttledAt || 'never'}`);
    // Scraping: misses cost 20 of a bucket of 100.
    let scrapedAt = 0;
    for (let i = 1; i <= 10 && !scrapedAt; i++) {
      const answer = await at('gateway', 'GET', `/v1/aliases/@nobody_${i}_${randomUUID().slice(0, 6)}?currency=USD`, cara.viewer);
      if (answer.status === 429) scrapedAt = i;
      else tally.check('alias scraping', answer.status === 404, `lookup ${i}: ${answer.status}`);
    }
    tally.check('alias scraping', scrapedAt > 0 && scrapedAt <= 6, `alias scraping throttled at lookup ${scrapedAt || 'never'}`);
  });

  test('the tally: no violations', () => {
    assert.deepEqual(tally.violations, [], tally.report());
  });
});
