// The internal routes the balance service's drift checks and rebuilds read: every account with its
// balance (paged by id) and each account's balance at a given sequence.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { needsInfra } from '@wallet/testkit';
import { startLedgerStack, type LedgerStack } from './support/ledger-stack.ts';

describe('internal balance routes', await needsInfra(), () => {
  let s: LedgerStack;
  let internal: string;

  before(async () => {
    s = await startLedgerStack();
    internal = await s.issuer.serviceToken('balance');
  });

  after(async () => {
    await s?.stop();
  });

  const post = (body: unknown, token = internal) => s.call('POST', '/internal/balances/at', token, body);

  test('the balance at each sequence, the current sequence, and every account page by page', async () => {
    const payer = s.openAccount(randomUUID());
    const payee = s.openAccount(randomUUID());
    assert.equal((await s.deposit(payer.id, '1000')).status, 201); // payer #1: 1000
    const payerToken = await s.issuer.userToken(payer.ownerId);
    const sent = await s.call('POST', '/v1/transfers', payerToken, { fromAccountId: payer.id, to: { accountId: payee.id }, amount: '300', currency: 'USD' }, randomUUID());
    assert.equal(sent.status, 201); // payer #2: 700, payee #1: 300
    const held = await s.call('POST', '/v1/holds', payerToken, { fromAccountId: payer.id, to: { accountId: payee.id }, amount: '200', currency: 'USD' }, randomUUID());
    assert.equal(held.status, 201, JSON.stringify(held.body)); // payer #3: 700, pending 200

    const unknown = randomUUID();
    const answer = await post({
      positions: [
        { accountId: payer.id, sequence: '0' },
        { accountId: payer.id, sequence: '1' },
        { accountId: payer.id, sequence: '3' },
        { accountId: payee.id.toUpperCase(), sequence: '1' },
        { accountId: payer.id, sequence: '4' },
        { accountId: unknown, sequence: '0' },
      ],
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const row = (accountId: string, sequence: string, known: boolean, balance: string | null, pending: string | null, ledgerSequence: string | null) => ({
      accountId,
      sequence,
      known,
      currency: known ? 'USD' : null,
      balance,
      pending,
      ledgerSequence,
    });
    assert.deepEqual(answer.body.balances, [
      row(payer.id, '0', true, '0', '0', '3'),
      row(payer.id, '1', true, '1000', '0', '3'),
      row(payer.id, '3', true, '700', '200', '3'),
      row(payee.id, '1', true, '300', '0', '1'),
      // Past the ledger's current sequence: no balance, and the current sequence says why.
      row(payer.id, '4', true, null, null, '3'),
      row(unknown, '0', false, null, null, null),
    ]);

    // Every account (the settlement account the deposit came from too), in id order, page by page.
    const seen: Array<{ accountId: string; balance: string; pending: string; sequence: string; ownerId: string; overdraftLimit: string | null }> = [];
    let afterId: string | undefined;
    let total: number | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await s.call('GET', `/internal/balances?limit=2${afterId ? `&afterId=${afterId}` : ''}`, internal);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      if (afterId === undefined) total = page.body.total;
      else assert.equal(page.body.total, undefined);
      seen.push(...page.body.accounts);
      if (page.body.accounts.length < 2) break;
      afterId = page.body.accounts.at(-1).accountId;
    }
    assert.equal(seen.length, 3);
    assert.equal(total, 3);
    assert.deepEqual(seen.map((a) => a.accountId), [...seen.map((a) => a.accountId)].sort());
    const byId = new Map(seen.map((a) => [a.accountId, a]));
    assert.deepEqual({ ...byId.get(payer.id) }, { ...byId.get(payer.id), balance: '700', pending: '200', sequence: '3', ownerId: payer.ownerId, overdraftLimit: '0' });
    assert.deepEqual([byId.get(payee.id)?.balance, byId.get(payee.id)?.sequence], ['300', '1']);
    const settlement = seen.find((a) => a.accountId !== payer.id && a.accountId !== payee.id)!;
    assert.deepEqual([settlement.balance, settlement.overdraftLimit], ['-1000', null]);
  });

  test('service tokens only; at most 1000 positions; well-formed positions', async () => {
    const user = await s.issuer.userToken(randomUUID());
    assert.equal((await post({ positions: [{ accountId: randomUUID(), sequence: '0' }] }, user)).status, 403);
    assert.equal((await s.call('GET', '/internal/balances', s.operator)).status, 403);
    const tooMany = Array.from({ length: 1001 }, () => ({ accountId: randomUUID(), sequence: '1' }));
    assert.equal((await post({ positions: tooMany })).status, 400);
    const most = await post({ positions: tooMany.slice(0, 1000) });
    assert.equal(most.status, 200);
    assert.equal(most.body.balances.length, 1000);
    assert.equal((await post({ positions: [] })).status, 400);
    assert.equal((await post({ positions: [{ accountId: 'nope', sequence: '1' }] })).status, 400);
    assert.equal((await post({ positions: [{ accountId: randomUUID(), sequence: '-1' }] })).status, 400);
    assert.equal((await s.call('GET', '/internal/balances?limit=1001', internal)).status, 400);
    assert.equal((await s.call('GET', '/internal/balances?afterId=x', internal)).status, 400);
  });
});
