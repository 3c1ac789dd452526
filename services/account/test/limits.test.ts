// PUT /v1/accounts/{id}/limits on real PostgreSQL, RabbitMQ and Redis: operators set the overdraft
// limit and the limits tier; the change and its account.limits_changed event commit together.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { Account } from '@wallet/contracts';
import { kitMigrationsDir, migrate } from '@wallet/kit';
import { createTestInfra, eventually, needsInfra, startTestIssuer, type TestInfra, type TestIssuer } from '@wallet/testkit';
import { limitsEvents, startAccountService, type Harness } from './support.ts';

const migrationsDir = fileURLToPath(new URL('../src/store/migrations', import.meta.url));
const MAX = '9223372036854775807';

describe('account limits', await needsInfra(), () => {
  let infra: TestInfra;
  let issuer: TestIssuer;
  let h: Harness;
  let operator: string;
  let service: string;
  /** An account stored before tiers existed (only 001 applied), then migrated by the service. */
  const legacyId = randomUUID();

  const newAccount = async (currency = 'USD') => {
    const ownerId = randomUUID();
    const token = await issuer.userToken(ownerId);
    const opened = await h.call('POST', '/v1/accounts', token, { currency });
    assert.equal(opened.status, 201);
    return { ownerId, token, account: opened.body as unknown as Account };
  };
  const stored = async (id: string) =>
    (await infra.db.query<{ overdraft_limit: bigint; tier: string }>('SELECT overdraft_limit, tier FROM account.accounts WHERE id = $1', [id])).rows[0];
  const outboxEmpty = () =>
    eventually(async () => ((await infra.db.query('SELECT 1 FROM account.outbox')).rowCount === 0 ? true : undefined), 5000, 'an empty outbox');
  /** Lets any event that was (wrongly) written reach the probe queue before counting. */
  const settle = async () => {
    await outboxEmpty();
    await new Promise((resolve) => setTimeout(resolve, 300));
  };

  before(async () => {
    infra = await createTestInfra();
    const only001 = await mkdtemp(join(tmpdir(), 'account-migrations-'));
    try {
      await copyFile(join(migrationsDir, '001_accounts.sql'), join(only001, '001_accounts.sql'));
      await migrate(infra.db, 'account', [kitMigrationsDir, only001]);
    } finally {
      await rm(only001, { recursive: true, force: true });
    }
    await infra.db.query(
      `INSERT INTO account.accounts (id, owner_id, currency, name, type, status, overdraft_limit, created_at, updated_at)
       VALUES ($1, 'legacy-owner', 'USD', 'Old', 'user', 'active', 700, now(), now())`,
      [legacyId],
    );
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

  test("accounts stored before tiers are 'standard' after the migration", async () => {
    const reply = await h.call('GET', `/v1/accounts/${legacyId}`, operator);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.tier, 'standard');
    assert.equal(reply.body.overdraftLimit, '700');
  });

  test('an operator sets the overdraft limit and the tier: 200, the account everywhere, one event', async () => {
    const { ownerId, token, account } = await newAccount();
    assert.equal(account.tier, 'standard');

    const reply = await h.call('PUT', `/v1/accounts/${account.id}/limits`, operator, { overdraftLimit: '50000', tier: 'premium' });
    assert.equal(reply.status, 200);
    const expected = { ...account, overdraftLimit: '50000', tier: 'premium' };
    assert.deepEqual(reply.body, expected);
    assert.deepEqual((await h.call('GET', `/v1/accounts/${account.id}`, token)).body, expected);
    assert.deepEqual((await h.call('GET', '/v1/accounts', token)).body.items, [expected]);
    assert.deepEqual((await h.call('GET', `/internal/accounts/${account.id}`, service)).body, expected);
    assert.deepEqual(await stored(account.id), { overdraft_limit: 50000n, tier: 'premium' });

    const [event] = await eventually(async () => {
      const found = limitsEvents(h.events, account.id);
      return found.length > 0 ? found : undefined;
    }, 10_000, 'account.limits_changed on the bus');
    assert.equal(event?.source, 'account');
    const data = event?.data as { changedAt: string };
    assert.deepEqual(data, { accountId: account.id, ownerId, overdraftLimit: '50000', tier: 'premium', changedAt: data.changedAt });
    assert.equal(new Date(data.changedAt).toISOString(), data.changedAt);
    assert.ok(Math.abs(Date.parse(data.changedAt) - Date.now()) < 60_000);

    // One field at a time: the other stays; the event carries both as they now stand.
    const tierOnly = await h.call('PUT', `/v1/accounts/${account.id}/limits`, operator, { tier: 'gold_2' });
    assert.deepEqual(tierOnly.body, { ...expected, tier: 'gold_2' });
    const zero = await h.call('PUT', `/v1/accounts/${account.id}/limits`, operator, { overdraftLimit: '0' });
    assert.deepEqual(zero.body, { ...expected, tier: 'gold_2', overdraftLimit: '0' });
    const largest = await h.call('PUT', `/v1/accounts/${account.id}/limits`, operator, { overdraftLimit: MAX });
    assert.equal(largest.status, 200);
    assert.equal(largest.body.overdraftLimit, MAX);
    assert.deepEqual(await stored(account.id), { overdraft_limit: 2n ** 63n - 1n, tier: 'gold_2' });

    // Changing nothing answers the account and publishes nothing.
    const same = await h.call('PUT', `/v1/accounts/${account.id}/limits`, operator, { overdraftLimit: MAX, tier: 'gold_2' });
    assert.equal(same.status, 200);
    assert.deepEqual(same.body, largest.body);

    await settle();
    assert.deepEqual(
      limitsEvents(h.events, account.id).map((e) => {
        const { overdraftLimit, tier } = e.data as { overdraftLimit: string; tier: string };
        return [overdraftLimit, tier];
      }),
      [
        ['50000', 'premium'],
        ['50000', 'gold_2'],
        ['0', 'gold_2'],
        [MAX, 'gold_2'],
      ],
    );
  });

  test('people and services cannot set limits, not even on their own account', async () => {
    const { token, account } = await newAccount();
    for (const caller of [token, service]) {
      const reply = await h.call('PUT', `/v1/accounts/${account.id}/limits`, caller, { overdraftLimit: '100000', tier: 'vip' });
      assert.equal(reply.status, 403);
      assert.equal(reply.body.code, 'forbidden');
    }
    const anonymous = await h.call('PUT', `/v1/accounts/${account.id}/limits`, undefined, { tier: 'vip' });
    assert.equal(anonymous.status, 401);
    assert.deepEqual(await stored(account.id), { overdraft_limit: 0n, tier: 'standard' });
    await settle();
    assert.equal(limitsEvents(h.events, account.id).length, 0);
  });

  test('a settlement account takes a tier but no overdraft limit', async () => {
    const settlement = (await h.call('PUT', '/internal/settlement-accounts/EUR', service)).body as unknown as Account;
    for (const body of [{ overdraftLimit: '0' }, { overdraftLimit: '1000', tier: 'vip' }, { overdraftLimit: MAX }]) {
      const refused = await h.call('PUT', `/v1/accounts/${settlement.id}/limits`, operator, body);
      assert.equal(refused.status, 422, JSON.stringify(body));
      assert.equal(refused.body.code, 'account_not_adjustable', JSON.stringify(body));
      assert.match(refused.contentType, /^application\/problem\+json/);
    }
    assert.deepEqual(await stored(settlement.id), { overdraft_limit: 2n ** 63n - 1n, tier: 'standard' });

    const tiered = await h.call('PUT', `/v1/accounts/${settlement.id}/limits`, operator, { tier: 'settlement' });
    assert.equal(tiered.status, 200);
    assert.deepEqual(tiered.body, { ...settlement, tier: 'settlement' });
    const [event] = await eventually(async () => {
      const found = limitsEvents(h.events, settlement.id);
      return found.length > 0 ? found : undefined;
    }, 10_000, 'account.limits_changed for the settlement account');
    assert.equal((event?.data as { overdraftLimit: string }).overdraftLimit, MAX);
    await settle();
    assert.equal(limitsEvents(h.events, settlement.id).length, 1);
  });

  test('bad bodies are 400 validation_failed and change nothing', async () => {
    const { account } = await newAccount();
    await h.call('PUT', `/v1/accounts/${account.id}/limits`, operator, { overdraftLimit: '300', tier: 'silver' });
    await eventually(async () => (limitsEvents(h.events, account.id).length === 1 ? true : undefined), 10_000, 'the first change');
    const before = (await h.call('GET', `/v1/accounts/${account.id}`, operator)).body;

    const bodies: unknown[] = [
      {},
      { overdraftLimit: '-1' },
      { overdraftLimit: '1.5' },
      { overdraftLimit: 1500 },
      { overdraftLimit: '' },
      { overdraftLimit: '01' },
      { overdraftLimit: ' 1' },
      { overdraftLimit: '1e3' },
      { overdraftLimit: '9223372036854775808' },
      { overdraftLimit: '9999999999999999999' },
      { overdraftLimit: '10000000000000000000' },
      { overdraftLimit: null },
      { tier: 'Gold' },
      { tier: '' },
      { tier: '1gold' },
      { tier: 'gold tier' },
      { tier: 'a'.repeat(33) },
      { tier: 5 },
      { tier: 'gold', unknown: 'x' },
      { overdraftlimit: '5' },
      { overdraftLimit: '5', tier: 'Gold' },
      [],
      null,
    ];
    for (const body of bodies) {
      const reply = await h.call('PUT', `/v1/accounts/${account.id}/limits`, operator, body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.equal(reply.body.code, 'validation_failed', JSON.stringify(body));
      assert.match(reply.contentType, /^application\/problem\+json/);
    }
    const noBody = await h.call('PUT', `/v1/accounts/${account.id}/limits`, operator);
    assert.equal(noBody.status, 400);
    assert.equal(noBody.body.code, 'validation_failed');
    const jsonString = await h.service.app.inject({
      method: 'PUT',
      url: `/v1/accounts/${account.id}/limits`,
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      payload: '"gold"',
    });
    assert.equal(jsonString.statusCode, 400);
    assert.equal(jsonString.json<{ code: string }>().code, 'validation_failed');
    const tooLarge = await h.call('PUT', `/v1/accounts/${account.id}/limits`, operator, { overdraftLimit: '9223372036854775808' });
    assert.deepEqual(tooLarge.body.errors, [{ field: 'body/overdraftLimit', message: `The overdraft limit must be at most ${MAX}` }]);

    assert.deepEqual((await h.call('GET', `/v1/accounts/${account.id}`, operator)).body, before);
    assert.deepEqual(await stored(account.id), { overdraft_limit: 300n, tier: 'silver' });
    await settle();
    assert.equal(limitsEvents(h.events, account.id).length, 1);
  });

  test('an unknown or malformed id is 404 account_not_found', async () => {
    for (const id of [randomUUID(), 'nope', encodeURIComponent("1' OR '1'='1")]) {
      const reply = await h.call('PUT', `/v1/accounts/${id}/limits`, operator, { overdraftLimit: '10', tier: 'vip' });
      assert.equal(reply.status, 404, id);
      assert.equal(reply.body.code, 'account_not_found', id);
    }
  });
});
