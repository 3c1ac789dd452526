// The transfer policy (limits and fraud rules) against real PostgreSQL: each rule refuses with
// `limit_exceeded` saying which rule and what remains, and racing transfers cannot both slip under.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, needsInfra } from '@wallet/testkit';
import { envelope } from '@wallet/kit';
import { eventTypes, type TransactionRejected } from '@wallet/contracts';
import { startLedgerStack, type LedgerStack } from './support/ledger-stack.ts';

const options = await needsInfra();
const denied = randomUUID();
const policy = {
  tiers: {
    standard: { perTransferMax: '1000', daily: { amount: '1500' }, monthly: { count: 50 } },
    business: { perTransferMax: '100000' },
  },
  velocity: { count: 6, seconds: 60 },
  newPayee: { amountAbove: '800' },
  denyAccounts: [denied],
};

describe('transfer policy: limits and fraud rules', options, () => {
  let s: LedgerStack;

  before(async () => {
    s = await startLedgerStack({ TRANSFER_POLICY: JSON.stringify(policy) });
  });
  after(async () => {
    await s?.stop();
  });

  const funded = async (amount = '100000') => {
    const account = s.openAccount(randomUUID());
    await s.deposit(account.id, amount);
    return { account, token: await s.issuer.userToken(account.ownerId) };
  };
  const send = (token: string, from: string, to: string, amount: string) =>
    s.call('POST', '/v1/transfers', token, { fromAccountId: from, to: { accountId: to }, amount, currency: 'USD' }, randomUUID());

  test('per-transfer maximum by tier; an operator moves an account to another tier', async () => {
    const { account, token } = await funded();
    const payee = s.openAccount(randomUUID());
    await send(token, account.id, payee.id, '10'); // known payee from now on
    const refused = await send(token, account.id, payee.id, '1001');
    assert.equal(refused.status, 422);
    assert.equal(refused.body.code, 'limit_exceeded');
    assert.equal(refused.body.limit, 'per_transfer');
    assert.equal(refused.body.window, null);
    assert.equal(refused.body.remaining, '1000');

    await s.infra.bus.publish([
      envelope('account', eventTypes.accountLimitsChanged, { accountId: account.id, ownerId: account.ownerId, overdraftLimit: '0', tier: 'business', changedAt: new Date().toISOString() }),
    ]);
    await eventually(async () => ((await s.infra.db.query<{ tier: string }>('SELECT tier FROM ledger.accounts WHERE id = $1', [account.id])).rows[0]?.tier === 'business' ? true : undefined));
    assert.equal((await send(token, account.id, payee.id, '5000')).status, 201);
  });

  test('the rolling daily amount counts transfers and holds, and says what remains', async () => {
    const { account, token } = await funded();
    const payee = s.openAccount(randomUUID());
    assert.equal((await send(token, account.id, payee.id, '600')).status, 201);
    const held = await s.call('POST', '/v1/holds', token, { fromAccountId: account.id, to: { accountId: payee.id }, amount: '700', currency: 'USD' }, randomUUID());
    assert.equal(held.status, 201);
    const refused = await send(token, account.id, payee.id, '201');
    assert.equal(refused.body.code, 'limit_exceeded');
    assert.equal(refused.body.limit, 'daily_amount');
    assert.equal(refused.body.window, 86_400);
    assert.equal(refused.body.remaining, '200');
    assert.equal((await send(token, account.id, payee.id, '200')).status, 201);
  });

  test('velocity: more than 6 transfers in 60 seconds is refused', async () => {
    const { account, token } = await funded();
    const payee = s.openAccount(randomUUID());
    for (let i = 0; i < 6; i++) assert.equal((await send(token, account.id, payee.id, '1')).status, 201);
    const refused = await send(token, account.id, payee.id, '1');
    assert.equal(refused.body.limit, 'velocity');
    assert.equal(refused.body.window, 60);
    assert.equal(refused.body.remaining, 0);
  });

  test('a large first transfer to a new payee is refused; after a first smaller payment it goes', async () => {
    const { account, token } = await funded();
    const payee = s.openAccount(randomUUID());
    const refused = await send(token, account.id, payee.id, '900');
    assert.equal(refused.body.limit, 'new_payee');
    assert.equal(refused.body.remaining, '800');
    assert.equal((await send(token, account.id, payee.id, '50')).status, 201);
    assert.equal((await send(token, account.id, payee.id, '900')).status, 201);
  });

  test('accounts on the deny list neither send nor receive; the refusal is published for audit', async () => {
    const { account, token } = await funded();
    s.accounts.set(denied, { ...s.openAccount(randomUUID()), id: denied });
    const refused = await send(token, account.id, denied, '5');
    assert.equal(refused.status, 422);
    assert.equal(refused.body.code, 'transfer_denied');
    const event = await eventually(async () => s.events.find((e) => e.type === eventTypes.transactionRejected && (e.data as TransactionRejected).attempt.toAccountId === denied));
    assert.equal((event.data as TransactionRejected).code, 'transfer_denied');
    assert.equal(await s.balanceOf(account.id), 100000n);
  });

  test('10 racing transfers of 600 against a daily limit of 1500: exactly 2 pass', async () => {
    const { account, token } = await funded();
    const payees = Array.from({ length: 10 }, () => s.openAccount(randomUUID()));
    const results = await Promise.all(payees.map((p) => send(token, account.id, p.id, '600')));
    assert.equal(results.filter((r) => r.status === 201).length, 2, JSON.stringify(results.map((r) => r.body.code ?? r.status)));
    assert.ok(results.every((r) => r.status === 201 || r.body.limit === 'daily_amount'));
    assert.equal(await s.balanceOf(account.id), 100000n - 1200n);
    await eventually(async () => (s.events.filter((e) => e.type === eventTypes.transactionRejected && (e.data as TransactionRejected).limit === 'daily_amount' && (e.data as TransactionRejected).attempt.fromAccountId === account.id).length === 8 ? true : undefined));
  });

  test('deposits and withdrawals by operators are outside the spending limits', async () => {
    const { account } = await funded('5000');
    const withdrawal = await s.call('POST', '/v1/withdrawals', s.operator, { accountId: account.id, amount: '4000', currency: 'USD' }, randomUUID());
    assert.equal(withdrawal.status, 201);
  });
});
