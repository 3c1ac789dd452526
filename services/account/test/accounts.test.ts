// The account service on real PostgreSQL, RabbitMQ and Redis: public routes, operator routes, events.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createTestInfra, eventually, needsInfra, startTestIssuer, type TestInfra, type TestIssuer } from '@wallet/testkit';
import { openedEvents, startAccountService, statusEvents, type Harness } from './support.ts';

describe('account service', await needsInfra(), () => {
  let infra: TestInfra;
  let issuer: TestIssuer;
  let h: Harness;
  let operator: string;
  let service: string;

  const countAccounts = async (ownerId: string) => {
    const { rows } = await infra.db.query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM account.accounts WHERE owner_id = $1', [ownerId]);
    return Number(rows[0]?.n);
  };
  const newUser = async () => {
    const id = randomUUID();
    return { id, token: await issuer.userToken(id) };
  };

  before(async () => {
    infra = await createTestInfra();
    issuer = await startTestIssuer();
    h = await startAccountService(infra, infra.env, issuer);
    operator = await issuer.operatorToken();
    service = await issuer.serviceToken('transaction');
  });

  after(async () => {
    await h?.service.stop();
    await issuer?.close();
    await infra?.destroy();
  });

  test('a person opens accounts, lists them and reads one', async () => {
    const ana = await newUser();
    const usd = await h.call('POST', '/v1/accounts', ana.token, { currency: 'USD' });
    assert.equal(usd.status, 201);
    assert.equal(usd.body.ownerId, ana.id);
    assert.equal(usd.body.currency, 'USD');
    assert.equal(usd.body.name, 'USD account');
    assert.equal(usd.body.type, 'user');
    assert.equal(usd.body.status, 'active');
    assert.equal(usd.body.overdraftLimit, '0');
    assert.equal(usd.body.tier, 'standard');
    assert.match(usd.body.id, /^[0-9a-f-]{36}$/);
    assert.ok(Math.abs(Date.parse(usd.body.createdAt) - Date.now()) < 60_000);

    const eur = await h.call('POST', '/v1/accounts', ana.token, { currency: 'EUR', name: '  Savings  ', unknown: 'dropped' });
    assert.equal(eur.status, 201);
    assert.equal(eur.body.name, 'Savings');
    assert.equal('unknown' in eur.body, false);

    const list = await h.call('GET', '/v1/accounts', ana.token);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.items, [usd.body, eur.body]);

    const one = await h.call('GET', `/v1/accounts/${eur.body.id}`, ana.token);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, eur.body);

    const byOperator = await h.call('GET', `/v1/accounts/${eur.body.id}`, operator);
    assert.deepEqual(byOperator.body, eur.body);
    const listedByOperator = await h.call('GET', `/v1/accounts?ownerId=${ana.id}`, operator);
    assert.deepEqual(listedByOperator.body.items, [usd.body, eur.body]);

    const stored = await infra.db.query<{ overdraft_limit: bigint; tier: string }>('SELECT overdraft_limit, tier FROM account.accounts WHERE id = $1', [usd.body.id]);
    assert.equal(stored.rows[0]?.overdraft_limit, 0n);
    assert.equal(stored.rows[0]?.tier, 'standard');
  });

  test('account.opened reaches the RabbitMQ bus through the outbox', async () => {
    const ben = await newUser();
    const opened = await h.call('POST', '/v1/accounts', ben.token, { currency: 'JPY', name: 'Tokyo' });
    assert.equal(opened.status, 201);
    const [event] = await eventually(async () => {
      const found = openedEvents(h.events, opened.body.id);
      return found.length > 0 ? found : undefined;
    }, 10_000, 'account.opened on the bus');
    assert.equal(event?.source, 'account');
    assert.deepEqual(event?.data, {
      accountId: opened.body.id,
      ownerId: ben.id,
      currency: 'JPY',
      type: 'user',
      status: 'active',
      name: 'Tokyo',
      overdraftLimit: '0',
      tier: 'standard',
      createdAt: opened.body.createdAt,
    });
    await eventually(async () => ((await infra.db.query('SELECT 1 FROM account.outbox')).rowCount === 0 ? true : undefined), 5000, 'an empty outbox');
  });

  test('bad input gets a problem with a stable code and changes nothing', async () => {
    const cleo = await newUser();
    const cases: { payload: unknown; status: number; code: string }[] = [
      { payload: {}, status: 400, code: 'validation_failed' },
      { payload: { currency: 'usd' }, status: 400, code: 'validation_failed' },
      { payload: { currency: 840 }, status: 400, code: 'validation_failed' },
      { payload: { currency: 'USD', name: '' }, status: 400, code: 'validation_failed' },
      { payload: { currency: 'USD', name: '    ' }, status: 400, code: 'validation_failed' },
      { payload: { currency: 'USD', name: 'x'.repeat(61) }, status: 400, code: 'validation_failed' },
      { payload: { currency: 'USD', name: 'tab\there' }, status: 400, code: 'validation_failed' },
      { payload: { currency: 'USD', name: 42 }, status: 400, code: 'validation_failed' },
      { payload: { currency: 'XAU' }, status: 422, code: 'unsupported_currency' },
      { payload: { currency: 'ABC' }, status: 422, code: 'unsupported_currency' },
      { payload: [], status: 400, code: 'validation_failed' },
    ];
    for (const { payload, status, code } of cases) {
      const reply = await h.call('POST', '/v1/accounts', cleo.token, payload);
      assert.equal(reply.status, status, JSON.stringify(payload));
      assert.equal(reply.body.code, code, JSON.stringify(payload));
      assert.match(reply.contentType, /^application\/problem\+json/);
      assert.equal(JSON.stringify(reply.body).includes('at '), false, 'no stack trace');
    }
    const blank = await h.call('POST', '/v1/accounts', cleo.token, { currency: 'USD', name: '  ' });
    assert.deepEqual(blank.body.errors, [{ field: 'body/name', message: 'The name must not be blank' }]);

    const malformed = await h.service.app.inject({
      method: 'POST',
      url: '/v1/accounts',
      headers: { authorization: `Bearer ${cleo.token}`, 'content-type': 'application/json' },
      payload: '{"currency": "USD"',
    });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json<{ code: string }>().code, 'malformed_json');

    assert.equal(await countAccounts(cleo.id), 0);
    assert.deepEqual((await h.call('GET', '/v1/accounts', cleo.token)).body.items, []);
    assert.equal(h.events.filter((e) => (e.data as { ownerId?: string }).ownerId === cleo.id).length, 0);
  });

  test('a person holds at most the configured number of accounts, even when asking concurrently', async () => {
    const dan = await newUser();
    const replies = await Promise.all(Array.from({ length: 13 }, () => h.call('POST', '/v1/accounts', dan.token, { currency: 'USD' })));
    assert.equal(replies.filter((r) => r.status === 201).length, 10);
    const refused = replies.filter((r) => r.status !== 201);
    assert.equal(refused.length, 3);
    for (const r of refused) {
      assert.equal(r.status, 422);
      assert.equal(r.body.code, 'account_limit_reached');
    }
    assert.equal(await countAccounts(dan.id), 10);
  });

  test("another person's account is not found, like an unknown or malformed id", async () => {
    const eve = await newUser();
    const fay = await newUser();
    const account = (await h.call('POST', '/v1/accounts', eve.token, { currency: 'USD' })).body;

    const theirs = await h.call('GET', `/v1/accounts/${account.id}`, fay.token);
    const unknown = await h.call('GET', `/v1/accounts/${randomUUID()}`, fay.token);
    const malformed = await h.call('GET', '/v1/accounts/not-a-uuid', fay.token);
    const injection = await h.call('GET', `/v1/accounts/${encodeURIComponent("1' OR '1'='1")}`, fay.token);
    for (const reply of [theirs, unknown, malformed, injection]) {
      assert.equal(reply.status, 404);
      assert.equal(reply.body.code, 'account_not_found');
    }
    assert.deepEqual(theirs.body, unknown.body, 'the answer must not reveal that the account exists');
    assert.deepEqual((await h.call('GET', '/v1/accounts', fay.token)).body.items, []);
    const listOthers = await h.call('GET', `/v1/accounts?ownerId=${eve.id}`, fay.token);
    assert.equal(listOthers.status, 403);
    assert.equal(listOthers.body.code, 'forbidden');
  });

  test('the owner renames an account; nobody else can, and bad names change nothing', async () => {
    const gil = await newUser();
    const hal = await newUser();
    const account = (await h.call('POST', '/v1/accounts', gil.token, { currency: 'USD' })).body;

    const renamed = await h.call('PATCH', `/v1/accounts/${account.id}`, gil.token, { name: '  Holidays  ' });
    assert.equal(renamed.status, 200);
    assert.deepEqual(renamed.body, { ...account, name: 'Holidays' });
    assert.equal((await h.call('GET', `/v1/accounts/${account.id}`, gil.token)).body.name, 'Holidays');

    const others = await h.call('PATCH', `/v1/accounts/${account.id}`, hal.token, { name: 'Mine now' });
    assert.equal(others.status, 404);
    assert.equal(others.body.code, 'account_not_found');
    assert.equal((await h.call('PATCH', `/v1/accounts/${account.id}`, operator, { name: 'Ops' })).status, 403);
    for (const body of [{ name: '   ' }, { name: 'x'.repeat(61) }, { name: 'a\u0007b' }, {}]) {
      const bad = await h.call('PATCH', `/v1/accounts/${account.id}`, gil.token, body);
      assert.equal(bad.status, 400, JSON.stringify(body));
      assert.equal(bad.body.code, 'validation_failed');
    }
    assert.equal((await h.call('GET', `/v1/accounts/${account.id}`, gil.token)).body.name, 'Holidays');
  });

  test('tokens: none is 401, operators and services cannot open accounts', async () => {
    const none = await h.call('POST', '/v1/accounts', undefined, { currency: 'USD' });
    assert.equal(none.status, 401);
    assert.equal(none.body.code, 'unauthorized');
    const forged = await h.call('GET', '/v1/accounts', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.');
    assert.equal(forged.status, 401);

    for (const token of [operator, service]) {
      const reply = await h.call('POST', '/v1/accounts', token, { currency: 'USD' });
      assert.equal(reply.status, 403);
      assert.equal(reply.body.code, 'forbidden');
    }
    assert.equal(await countAccounts('operator-test'), 0);
    assert.equal(await countAccounts('svc-transaction'), 0);
    assert.equal((await h.call('GET', '/v1/accounts', service)).status, 403);
    const operatorWithoutOwner = await h.call('GET', '/v1/accounts', operator);
    assert.equal(operatorWithoutOwner.status, 400);
    assert.equal(operatorWithoutOwner.body.code, 'validation_failed');
  });

  test('operators freeze and unfreeze, idempotently, with one event per change; people cannot', async () => {
    const gus = await newUser();
    const account = (await h.call('POST', '/v1/accounts', gus.token, { currency: 'GBP' })).body;

    const byUser = await h.call('POST', `/v1/accounts/${account.id}/freeze`, gus.token);
    assert.equal(byUser.status, 403);
    assert.equal(byUser.body.code, 'forbidden');
    assert.equal((await h.call('POST', `/v1/accounts/${account.id}/freeze`, service)).status, 403);
    assert.equal((await h.call('GET', `/v1/accounts/${account.id}`, gus.token)).body.status, 'active');

    const frozen = await h.call('POST', `/v1/accounts/${account.id}/freeze`, operator);
    assert.equal(frozen.status, 200);
    assert.equal(frozen.body.status, 'frozen');
    const again = await h.call('POST', `/v1/accounts/${account.id}/freeze`, operator);
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'frozen');
    assert.equal((await h.call('GET', `/v1/accounts/${account.id}`, gus.token)).body.status, 'frozen');

    const unfrozen = await h.call('POST', `/v1/accounts/${account.id}/unfreeze`, operator);
    assert.equal(unfrozen.status, 200);
    assert.equal(unfrozen.body.status, 'active');
    assert.equal((await h.call('POST', `/v1/accounts/${account.id}/unfreeze`, operator)).body.status, 'active');

    const changes = await eventually(async () => {
      const found = statusEvents(h.events, account.id);
      return found.length >= 2 ? found : undefined;
    }, 10_000, 'two account.status_changed events');
    assert.deepEqual(
      changes.map((e) => e.data),
      [
        { accountId: account.id, ownerId: gus.id, status: 'frozen', previousStatus: 'active', changedAt: (changes[0]?.data as { changedAt: string }).changedAt },
        { accountId: account.id, ownerId: gus.id, status: 'active', previousStatus: 'frozen', changedAt: (changes[1]?.data as { changedAt: string }).changedAt },
      ],
    );
    await eventually(async () => ((await infra.db.query('SELECT 1 FROM account.outbox')).rowCount === 0 ? true : undefined), 5000, 'an empty outbox');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(statusEvents(h.events, account.id).length, 2, 'idempotent calls publish nothing');

    for (const id of [randomUUID(), 'nope']) {
      const missing = await h.call('POST', `/v1/accounts/${id}/freeze`, operator);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.code, 'account_not_found');
    }
  });

  test('a closed account stays closed', async () => {
    const hal = await newUser();
    const account = (await h.call('POST', '/v1/accounts', hal.token, { currency: 'CHF' })).body;
    // No route closes accounts yet; the status is set the way a future close would store it.
    await infra.db.query(`UPDATE account.accounts SET status = 'closed' WHERE id = $1`, [account.id]);
    for (const action of ['freeze', 'unfreeze']) {
      const reply = await h.call('POST', `/v1/accounts/${account.id}/${action}`, operator);
      assert.equal(reply.status, 422);
      assert.equal(reply.body.code, 'account_closed');
    }
    assert.equal((await h.call('GET', `/v1/accounts/${account.id}`, hal.token)).body.status, 'closed');
    assert.equal(statusEvents(h.events, account.id).length, 0);
  });
});
