// The ledger against real PostgreSQL and RabbitMQ (support/ledger-stack.ts): transfers, idempotency,
// batches, statements, references.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, needsInfra } from '@wallet/testkit';
import { envelope } from '@wallet/kit';
import type { TransactionCreated } from '@wallet/contracts';
import { startIdempotencySweeper } from '../src/jobs/idempotency-sweeper.ts';
import { startLedgerStack, type LedgerStack } from './support/ledger-stack.ts';

const options = await needsInfra();

describe('transaction service (ledger)', options, () => {
  let stack: LedgerStack;
  let infra: LedgerStack['infra'];
  let issuer: LedgerStack['issuer'];
  let service: LedgerStack['service'];
  let operator: string;
  let aliases: LedgerStack['aliases'];
  let events: LedgerStack['events'];
  const openAccount = (...args: Parameters<LedgerStack['openAccount']>) => stack.openAccount(...args);
  const call = (...args: Parameters<LedgerStack['call']>) => stack.call(...args);
  const deposit = (accountId: string, amount: string) => stack.deposit(accountId, amount);
  const balanceOf = (id: string) => stack.balanceOf(id);
  const totals = () => stack.totals();

  before(async () => {
    stack = await startLedgerStack();
    ({ infra, issuer, service, operator, aliases, events } = stack);
  });

  after(async () => {
    await stack?.stop();
  });

  test('a deposit and a transfer move money, once per idempotency key', async () => {
    const ana = randomUUID();
    const bob = randomUUID();
    const a = openAccount(ana);
    const b = openAccount(bob);
    assert.equal((await deposit(a.id, '1000')).status, 201);
    const token = await issuer.userToken(ana);
    const key = randomUUID();
    const body = { fromAccountId: a.id, to: { accountId: b.id }, amount: '250', currency: 'USD', description: 'lunch' };
    const first = await call('POST', '/v1/transfers', token, body, key);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.status, 'completed');
    assert.deepEqual(first.body.source, { accountId: a.id, balanceAfter: '750', sequence: '2' });
    const again = await call('POST', '/v1/transfers', token, body, key);
    assert.equal(again.status, 201);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, first.body);
    const altered = await call('POST', '/v1/transfers', token, { ...body, amount: '251' }, key);
    assert.equal(altered.status, 422);
    assert.equal(altered.body.code, 'idempotency_key_reused');
    assert.equal(await balanceOf(a.id), 750n);
    assert.equal(await balanceOf(b.id), 250n);
    // The receiver sees the transfer without the sender's balance.
    const seen = await call('GET', `/v1/transfers/${first.body.id}`, await issuer.userToken(bob), undefined);
    assert.equal(seen.status, 200);
    assert.equal(seen.body.source, undefined);
    await eventually(async () => events.find((e) => (e.data as TransactionCreated).transfer.id === first.body.id), 10_000, 'transaction.created on the bus');
    const event = events.find((e) => (e.data as TransactionCreated).transfer.id === first.body.id)!;
    assert.deepEqual(
      (event.data as TransactionCreated).entries.map((e) => [e.accountId, e.amount, e.balanceAfter, e.sequence]),
      [
        [a.id, '-250', '750', '2'],
        [b.id, '250', '250', '1'],
      ],
    );
  });

  test('insufficient funds says what is available, and the same key stays refused after a deposit', async () => {
    const ana = randomUUID();
    const a = openAccount(ana);
    const b = openAccount(randomUUID());
    await deposit(a.id, '100');
    const token = await issuer.userToken(ana);
    const key = randomUUID();
    const body = { fromAccountId: a.id, to: { accountId: b.id }, amount: '101', currency: 'USD' };
    const refused = await call('POST', '/v1/transfers', token, body, key);
    assert.equal(refused.status, 422);
    assert.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(refused.body.code, 'insufficient_funds');
    assert.equal(refused.body.available, '100');
    await deposit(a.id, '100');
    const retried = await call('POST', '/v1/transfers', token, body, key);
    assert.equal(retried.status, 422);
    assert.equal(retried.body.code, 'insufficient_funds');
    assert.equal(await balanceOf(b.id), 0n);
  });

  test('transfers by alias reach the linked account', async () => {
    const a = openAccount(randomUUID());
    const b = openAccount(randomUUID());
    aliases.set('@bob_alias', b.id);
    await deposit(a.id, '500');
    const sent = await call('POST', '/v1/transfers', await issuer.userToken(a.ownerId), { fromAccountId: a.id, to: { alias: '@bob_alias' }, amount: '5', currency: 'USD' }, randomUUID());
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.equal(sent.body.toAccountId, b.id);
    const missing = await call('POST', '/v1/transfers', await issuer.userToken(a.ownerId), { fromAccountId: a.id, to: { alias: '@nobody' }, amount: '5', currency: 'USD' }, randomUUID());
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'alias_not_found');
  });

  test("nobody moves or reads money in an account they do not own", async () => {
    const a = openAccount(randomUUID());
    const b = openAccount(randomUUID());
    await deposit(a.id, '100');
    const mallory = await issuer.userToken(randomUUID());
    const stolen = await call('POST', '/v1/transfers', mallory, { fromAccountId: a.id, to: { accountId: b.id }, amount: '1', currency: 'USD' }, randomUUID());
    assert.equal(stolen.status, 404);
    assert.equal(stolen.body.code, 'account_not_found');
    assert.equal((await call('GET', `/v1/transfers?accountId=${a.id}`, mallory)).status, 404);
    assert.equal((await call('POST', '/v1/deposits', mallory, { accountId: a.id, amount: '1', currency: 'USD' }, randomUUID())).status, 403);
    assert.equal((await call('GET', `/internal/accounts/${a.id}/entries`, mallory)).status, 403);
    assert.equal(await balanceOf(a.id), 100n);
  });

  test('bad input is refused with problem+json and changes nothing', async () => {
    const a = openAccount(randomUUID());
    const b = openAccount(randomUUID());
    await deposit(a.id, '100');
    const token = await issuer.userToken(a.ownerId);
    const base = { fromAccountId: a.id, to: { accountId: b.id }, currency: 'USD' };
    for (const amount of ['0', '-5', '10.5', '1e3', '٣', '99999999999999999999', 100, 2 ** 53 + 2]) {
      const r = await call('POST', '/v1/transfers', token, { ...base, amount }, randomUUID());
      assert.equal(r.status, 400, `amount ${amount}`);
      assert.equal(r.body.code, 'validation_failed');
    }
    assert.equal((await call('POST', '/v1/transfers', token, { ...base, amount: '1' })).body.code, 'idempotency_key_missing');
    assert.equal((await call('POST', '/v1/transfers', token, { ...base, amount: '1', currency: 'EUR' }, randomUUID())).body.code, 'currency_mismatch');
    assert.equal((await call('POST', '/v1/transfers', token, { ...base, to: { accountId: a.id }, amount: '1' }, randomUUID())).body.code, 'same_account');
    assert.equal((await call('POST', '/v1/transfers', token, { ...base, amount: '100000000001' }, randomUUID())).body.code, 'amount_too_large');
    assert.equal((await call('POST', '/v1/transfers', token, { ...base, to: {}, amount: '1' }, randomUUID())).status, 400);
    assert.equal((await call('POST', '/v1/transfers', token, { ...base, to: { accountId: randomUUID() }, amount: '1' }, randomUUID())).body.code, 'account_not_found');
    assert.equal(await balanceOf(a.id), 100n);
  });

  test('a frozen account can neither send nor receive', async () => {
    const a = openAccount(randomUUID());
    const b = openAccount(randomUUID());
    await deposit(a.id, '100');
    await deposit(b.id, '100');
    await infra.bus.publish([envelope('account', 'account.status_changed', { accountId: b.id, ownerId: b.ownerId, status: 'frozen', previousStatus: 'active', changedAt: new Date().toISOString() })]);
    await eventually(async () => ((await infra.db.query<{ status: string }>('SELECT status FROM ledger.accounts WHERE id = $1', [b.id])).rows[0]?.status === 'frozen' ? true : undefined));
    const toFrozen = await call('POST', '/v1/transfers', await issuer.userToken(a.ownerId), { fromAccountId: a.id, to: { accountId: b.id }, amount: '1', currency: 'USD' }, randomUUID());
    assert.equal(toFrozen.body.code, 'account_frozen');
    const fromFrozen = await call('POST', '/v1/transfers', await issuer.userToken(b.ownerId), { fromAccountId: b.id, to: { accountId: a.id }, amount: '1', currency: 'USD' }, randomUUID());
    assert.equal(fromFrozen.body.code, 'account_frozen');
  });

  test('50 racing transfers of the whole balance: exactly one succeeds; racing replays move money once', async () => {
    const a = openAccount(randomUUID());
    const targets = Array.from({ length: 50 }, () => openAccount(randomUUID()));
    await deposit(a.id, '1000');
    const token = await issuer.userToken(a.ownerId);
    const results = await Promise.all(targets.map((t) => call('POST', '/v1/transfers', token, { fromAccountId: a.id, to: { accountId: t.id }, amount: '1000', currency: 'USD' }, randomUUID())));
    assert.equal(results.filter((r) => r.status === 201).length, 1);
    assert.ok(results.every((r) => r.status === 201 || r.body.code === 'insufficient_funds'));
    assert.equal(await balanceOf(a.id), 0n);

    const c = openAccount(randomUUID());
    await deposit(c.id, '1000');
    const key = randomUUID();
    const same = { fromAccountId: c.id, to: { accountId: targets[0]!.id }, amount: '10', currency: 'USD' };
    const replays = await Promise.all(Array.from({ length: 20 }, async () => call('POST', '/v1/transfers', await issuer.userToken(c.ownerId), same, key)));
    assert.ok(replays.every((r) => r.status === 201));
    assert.equal(new Set(replays.map((r) => r.body.id)).size, 1);
    assert.equal(await balanceOf(c.id), 990n);
    for (const row of await totals()) assert.equal(row.total, 0n, `sum of ${row.currency} balances`);
  });

  test('group commit gives exactly the one-at-a-time results: 10 of 30 racing 100s fit in 1000', async () => {
    const a = openAccount(randomUUID());
    const b = openAccount(randomUUID());
    await deposit(a.id, '1000');
    const token = await issuer.userToken(a.ownerId);
    const send = (amount: string, key = randomUUID()) => call('POST', '/v1/transfers', token, { fromAccountId: a.id, to: { accountId: b.id }, amount, currency: 'USD' }, key);
    const results = await Promise.all(Array.from({ length: 30 }, () => send('100')));
    const accepted = results.filter((r) => r.status === 201);
    const metrics = (await service.app.inject({ method: 'GET', url: '/metrics' })).body;
    const grouped = /ledger_commit_group_size_bucket\{le="1",service="transaction"\} (\d+)/.exec(metrics);
    const groups = /ledger_commit_group_size_count\{service="transaction"\} (\d+)/.exec(metrics);
    assert.ok(grouped && groups && Number(groups[1]) > Number(grouped[1]), 'some commits carried more than one transfer');
    assert.equal(accepted.length, 10);
    // The sender's balance after each accepted transfer is distinct and steps down by 100.
    assert.deepEqual(accepted.map((r) => BigInt(r.body.source.balanceAfter)).sort((x, y) => (x < y ? -1 : 1)), [0n, 100n, 200n, 300n, 400n, 500n, 600n, 700n, 800n, 900n]);
    assert.equal(await balanceOf(a.id), 0n);
    const chain = await infra.db.query<{ sequence: bigint; balance_after: bigint }>('SELECT sequence, balance_after FROM ledger.entries WHERE account_id = $1 ORDER BY sequence', [a.id]);
    assert.deepEqual(chain.rows.map((r) => r.sequence), Array.from({ length: 11 }, (_, i) => BigInt(i + 1)));

    // One key twice in the same group: the first moves money, the copy replays; another body is refused.
    await deposit(a.id, '50');
    const key = randomUUID();
    const [first, copy, altered] = await Promise.all([send('10', key), send('10', key), send('11', key)]);
    assert.equal(first.status, 201);
    assert.deepEqual(copy.body, first.body);
    assert.equal(altered.body.code, 'idempotency_key_reused');
    assert.equal(await balanceOf(a.id), 40n);
  });

  test('a batch applies in order with one result each; atomic batches are all or nothing', async () => {
    const a = openAccount(randomUUID());
    const b = openAccount(randomUUID());
    await deposit(a.id, '250');
    const token = await issuer.userToken(a.ownerId);
    const item = (amount: string) => ({ fromAccountId: a.id, to: { accountId: b.id }, amount, currency: 'USD' });
    const key = randomUUID();
    const body = { transfers: ['100', '100', '100', '30', '20'].map(item) };
    const batch = await call('POST', '/v1/transfers/batch', token, body, key);
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    assert.deepEqual(batch.body.results.map((r: { status: number }) => r.status), [201, 201, 422, 201, 201]);
    assert.equal(batch.body.results[2].error.code, 'insufficient_funds');
    assert.equal(batch.body.results[2].error.available, '50');
    assert.equal(batch.body.completed, 4);
    assert.equal(await balanceOf(a.id), 0n);
    const again = await call('POST', '/v1/transfers/batch', token, body, key);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, batch.body);
    assert.equal((await call('POST', '/v1/transfers/batch', token, { transfers: ['1'].map(item) }, key)).body.code, 'idempotency_key_reused');

    await deposit(a.id, '100');
    const atomic = await call('POST', '/v1/transfers/batch', token, { atomic: true, transfers: ['60', '60'].map(item) }, randomUUID());
    assert.equal(atomic.status, 200);
    assert.deepEqual(atomic.body.results.map((r: { error: { code: string } }) => r.error.code), ['linked_transfer_failed', 'insufficient_funds']);
    assert.equal(await balanceOf(a.id), 100n);
    const allIn = await call('POST', '/v1/transfers/batch', token, { atomic: true, transfers: ['60', '40'].map(item) }, randomUUID());
    assert.equal(allIn.body.completed, 2);
    assert.equal(await balanceOf(a.id), 0n);

    const tooMany = await call('POST', '/v1/transfers/batch', token, { transfers: Array.from({ length: 1001 }, () => item('1')) }, randomUUID());
    assert.equal(tooMany.status, 400);
    const other = openAccount(randomUUID());
    const notMine = await call('POST', '/v1/transfers/batch', token, { transfers: [item('1'), { ...item('1'), fromAccountId: other.id }] }, randomUUID());
    assert.equal(notMine.status, 404);
    assert.equal(notMine.body.index, 1);
  });

  test('a batch is one request under its key: reusing the key for anything else is refused and moves nothing', async () => {
    const a = openAccount(randomUUID());
    const b = openAccount(randomUUID());
    await deposit(a.id, '1000');
    const token = await issuer.userToken(a.ownerId);
    const item = (amount: string) => ({ fromAccountId: a.id, to: { accountId: b.id }, amount, currency: 'USD' });
    const single = randomUUID();
    assert.equal((await call('POST', '/v1/transfers', token, item('100'), single)).status, 201);
    assert.equal((await call('POST', '/v1/transfers/batch', token, { transfers: [item('7')] }, single)).body.code, 'idempotency_key_reused');
    const batch = randomUUID();
    const first = await call('POST', '/v1/transfers/batch', token, { transfers: [item('10')] }, batch);
    assert.equal(first.status, 200);
    assert.equal((await call('POST', '/v1/transfers', token, item('20'), batch)).body.code, 'idempotency_key_reused');
    assert.equal((await call('POST', '/v1/transfers/batch', token, { transfers: [item('10'), item('50')] }, batch)).body.code, 'idempotency_key_reused');
    assert.equal((await call('POST', '/v1/transfers', token, item('30'), `${batch}#0`)).status, 201, 'an item key is not a key the client sent');
    const again = await call('POST', '/v1/transfers/batch', token, { transfers: [item('10')] }, batch);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(await balanceOf(a.id), 1000n - 100n - 10n - 30n);
  });

  test('idempotency records older than the retention are swept; younger ones stay', async () => {
    await infra.db.query(
      `INSERT INTO ledger.idempotency (caller, key, fingerprint, status, body, created_at) VALUES
       ('sweep-test', 'old', 'f', 201, '{}', now() - interval '25 hours'), ('sweep-test', 'young', 'f', 201, '{}', now() - interval '23 hours')`,
    );
    const sweeper = startIdempotencySweeper(infra.db, 24, 3_600_000, { warn: () => undefined });
    assert.ok((await sweeper.sweep()) >= 1);
    sweeper.stop();
    const left = await infra.db.query<{ key: string }>("SELECT key FROM ledger.idempotency WHERE caller = 'sweep-test'");
    assert.deepEqual(left.rows.map((r) => r.key), ['young']);
  });

  test('a statement lists the period with the balance after each entry; opening + entries = closing', async () => {
    const a = openAccount(randomUUID());
    const b = openAccount(randomUUID());
    await deposit(a.id, '1000');
    const token = await issuer.userToken(a.ownerId);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const from = new Date().toISOString();
    for (const [amount, description] of [['100', 'rent, March'], ['50', '=cmd()'], ['25', 'plain']] as const) {
      await call('POST', '/v1/transfers', token, { fromAccountId: a.id, to: { accountId: b.id }, amount, currency: 'USD', description }, randomUUID());
    }
    const page = await call('GET', `/v1/accounts/${a.id}/statement?from=${encodeURIComponent(from)}&limit=2`, token);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.equal(page.body.openingBalance, '1000');
    assert.equal(page.body.closingBalance, '825');
    assert.deepEqual(page.body.entries.map((e: { amount: string; balanceAfter: string }) => [e.amount, e.balanceAfter]), [['-100', '900'], ['-50', '850']]);
    assert.equal(page.body.entries[0].counterpartyAccountId, b.id);
    const rest = await call('GET', `/v1/accounts/${a.id}/statement?from=${encodeURIComponent(from)}&limit=2&cursor=${page.body.nextCursor}`, token);
    const all = [...page.body.entries, ...rest.body.entries];
    assert.equal(rest.body.nextCursor, null);
    const sum = all.reduce((total: bigint, e: { amount: string }) => total + BigInt(e.amount), 0n);
    assert.equal(BigInt(page.body.openingBalance) + sum, BigInt(page.body.closingBalance));

    const csv = await service.app.inject({ method: 'GET', url: `/v1/accounts/${a.id}/statement?from=${encodeURIComponent(from)}&format=csv`, headers: { authorization: `Bearer ${token}` } });
    assert.equal(csv.statusCode, 200);
    assert.match(csv.headers['content-type'] as string, /^text\/csv/);
    assert.equal(csv.headers['x-opening-balance'], '1000');
    const lines = csv.body.trim().split('\r\n');
    assert.equal(lines[0], 'sequence,created_at,transfer_id,kind,amount,balance_after,counterparty_account_id,description');
    assert.equal(lines.length, 4);
    assert.match(lines[1]!, /,-100,900,.*,"rent, March"$/);
    assert.match(lines[2]!, /,'=cmd\(\)$/);

    assert.equal((await call('GET', `/v1/accounts/${a.id}/statement`, await issuer.userToken(randomUUID()))).status, 404);
    assert.equal((await call('GET', `/v1/accounts/${a.id}/statement`, operator)).status, 200);
    assert.equal((await call('GET', `/v1/accounts/${a.id}/statement?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`, token)).body.code, 'validation_failed');
    assert.equal((await call('GET', `/v1/accounts/${a.id}/statement?from=2020-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`, token)).body.code, 'validation_failed');
  });

  test('transfers carry a reference and metadata, returned everywhere and filterable by reference', async () => {
    const a = openAccount(randomUUID());
    const b = openAccount(randomUUID());
    await deposit(a.id, '100');
    const token = await issuer.userToken(a.ownerId);
    const base = { fromAccountId: a.id, to: { accountId: b.id }, amount: '5', currency: 'USD' };
    const sent = await call('POST', '/v1/transfers', token, { ...base, reference: 'INV-42', metadata: { order: '9001', channel: 'web' } }, randomUUID());
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.equal(sent.body.reference, 'INV-42');
    assert.deepEqual(sent.body.metadata, { order: '9001', channel: 'web' });
    await call('POST', '/v1/transfers', token, base, randomUUID());
    const got = await call('GET', `/v1/transfers/${sent.body.id}`, token);
    assert.deepEqual([got.body.reference, got.body.metadata], ['INV-42', { order: '9001', channel: 'web' }]);
    const found = await call('GET', `/v1/transfers?accountId=${a.id}&reference=INV-42`, token);
    assert.deepEqual(found.body.items.map((t: { id: string }) => t.id), [sent.body.id]);
    const plain = (await call('GET', `/v1/transfers?accountId=${a.id}`, token)).body.items[0];
    assert.deepEqual([plain.reference, plain.metadata], [null, {}]);
    const tooMany = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v']));
    for (const metadata of [tooMany, { ['k'.repeat(41)]: 'v' }, { k: 'v'.repeat(501) }, { k: 5 }, { '': 'v' }]) {
      const r = await call('POST', '/v1/transfers', token, { ...base, metadata }, randomUUID());
      assert.equal(r.status, 400, JSON.stringify(metadata).slice(0, 60));
    }
    assert.equal((await call('POST', '/v1/transfers', token, { ...base, reference: 'x'.repeat(101) }, randomUUID())).status, 400);
    assert.equal(await balanceOf(a.id), 90n);
  });

  test('transfers list newest first with a cursor; entries serve gap repair', async () => {
    const a = openAccount(randomUUID());
    const b = openAccount(randomUUID());
    await deposit(a.id, '100');
    const token = await issuer.userToken(a.ownerId);
    for (let i = 1; i <= 5; i++) await call('POST', '/v1/transfers', token, { fromAccountId: a.id, to: { accountId: b.id }, amount: String(i), currency: 'USD' }, randomUUID());
    const page1 = await call('GET', `/v1/transfers?accountId=${a.id}&limit=4`, token);
    assert.equal(page1.status, 200);
    assert.deepEqual(page1.body.items.map((t: { amount: string }) => t.amount), ['5', '4', '3', '2']);
    const page2 = await call('GET', `/v1/transfers?accountId=${a.id}&limit=4&cursor=${page1.body.nextCursor}`, token);
    assert.deepEqual(page2.body.items.map((t: { amount: string }) => t.amount), ['1', '100']);
    assert.equal(page2.body.nextCursor, null);
    const entries = await call('GET', `/internal/accounts/${a.id}/entries?afterSequence=4`, await issuer.serviceToken('balance'));
    assert.deepEqual(entries.body.entries.map((e: { sequence: string; balanceAfter: string }) => [e.sequence, e.balanceAfter]), [
      ['5', '90'],
      ['6', '85'],
    ]);
  });
});
