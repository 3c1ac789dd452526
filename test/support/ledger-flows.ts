// Issue 4's ledger features end to end, through the gateway, with the real account and balance
// services: holds (posted / pending / available), partial posts, voids, reversals, an operator-set
// overdraft, and the API docs listing it all.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { WalletClient, until } from './client.ts';
import type { Stack } from './stack.ts';

const key = () => ({ 'idempotency-key': randomUUID() });

export async function runLedgerFlows(stack: Stack): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const buyer = new WalletClient(stack.gatewayUrl);
  const shop = new WalletClient(stack.gatewayUrl);
  const operator = new WalletClient(stack.gatewayUrl);
  await buyer.signUp(`buyer_${tag}`, 'Bea Buyer');
  await shop.signUp(`shop_${tag}`, 'Sam Shop');
  const buyerAccount = await buyer.openAccount('USD');
  const shopAccount = await shop.openAccount('USD');
  assert.equal((await operator.loginClient(stack.operator.id, stack.operator.secret)).status, 200);
  assert.equal((await operator.deposit(buyerAccount, '10000')).status, 201);

  const balanceIs = (client: WalletClient, account: string, want: { posted: string; pending: string; available: string }, what: string) =>
    until(async () => {
      const r = await client.balance(account);
      return r.status === 200 && r.body.posted === want.posted && r.body.pending === want.pending && r.body.available === want.available ? r.body : undefined;
    }, what);

  // A card-style authorisation: reserve 3,000, capture 2,000; the rest comes back.
  const hold = await buyer.post('/v1/holds', { fromAccountId: buyerAccount, to: { alias: `@shop_${tag}` }, amount: '3000', currency: 'USD', reference: `order-${tag}` }, key());
  assert.equal(hold.status, 201, JSON.stringify(hold.body));
  assert.equal(hold.body.toAccountId, shopAccount);
  await balanceIs(buyer, buyerAccount, { posted: '10000', pending: '3000', available: '7000' }, 'the hold in the balance');
  const posted = await shop.post(`/v1/holds/${hold.body.id}/post`, { amount: '2000' }, key());
  assert.equal(posted.status, 200, JSON.stringify(posted.body));
  assert.equal(posted.body.status, 'posted');
  await balanceIs(buyer, buyerAccount, { posted: '8000', pending: '0', available: '8000' }, 'the capture in the balance');
  assert.equal((await shop.post(`/v1/holds/${hold.body.id}/void`, {}, key())).body.code, 'hold_not_pending');

  // A second hold, voided by the shop.
  const second = await buyer.post('/v1/holds', { fromAccountId: buyerAccount, to: { accountId: shopAccount }, amount: '500', currency: 'USD' }, key());
  assert.equal((await shop.post(`/v1/holds/${second.body.id}/void`, {}, key())).status, 200);

  // The shop refunds half of the capture.
  const refund = await shop.post(`/v1/transfers/${posted.body.transferId}/reversals`, { amount: '1000' }, key());
  assert.equal(refund.status, 201, JSON.stringify(refund.body));
  assert.equal(refund.body.kind, 'reversal');
  await balanceIs(buyer, buyerAccount, { posted: '9000', pending: '0', available: '9000' }, 'the refund in the balance');
  const tooMuch = await shop.post(`/v1/transfers/${posted.body.transferId}/reversals`, { amount: '1001' }, key());
  assert.equal(tooMuch.body.code, 'reversal_amount_exceeded');

  // An operator grants the shop an overdraft: the balance shows it, and the ledger honours it.
  const limits = await operator.request('PUT', `/v1/accounts/${shopAccount}/limits`, { overdraftLimit: '5000' });
  assert.equal(limits.status, 200, JSON.stringify(limits.body));
  assert.equal(limits.body.overdraftLimit, '5000');
  assert.equal((await shop.request('PUT', `/v1/accounts/${shopAccount}/limits`, { overdraftLimit: '9' })).status, 403);
  await balanceIs(shop, shopAccount, { posted: '1000', pending: '0', available: '6000' }, 'the overdraft in the shop balance');
  const overdrawn = await until(async () => {
    const r = await shop.transfer({ fromAccountId: shopAccount, to: { accountId: buyerAccount }, amount: '3000', currency: 'USD' });
    return r.status === 201 ? r : undefined;
  }, 'the ledger to apply the overdraft');
  assert.equal((overdrawn.body.source as { balanceAfter: string }).balanceAfter, '-2000');

  // Everything above is in the merged API docs.
  const docs = await new WalletClient(stack.gatewayUrl).get('/docs/json');
  assert.equal(docs.status, 200);
  const paths = Object.keys(docs.body.paths as object);
  for (const path of ['/v1/holds', '/v1/holds/{id}/post', '/v1/holds/{id}/void', '/v1/transfers/{id}/reversals', '/v1/transfers/batch', '/v1/accounts/{id}/limits', '/v1/accounts/{id}/statement']) {
    assert.ok(paths.includes(path), `${path} in the API docs`);
  }
}
