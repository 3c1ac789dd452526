// The seed's two flows, through the gateway, as one scenario shared by both run modes.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { WalletClient, until } from './client.ts';
import type { Stack } from './stack.ts';

export async function runSeedFlows(stack: Stack): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const ana = new WalletClient(stack.gatewayUrl);
  const bob = new WalletClient(stack.gatewayUrl);
  const operator = new WalletClient(stack.gatewayUrl);

  // Two sign-ups; the handle is each person's first alias.
  await ana.signUp(`ana_${tag}`, 'Ana Pereira');
  await bob.signUp(`bob_${tag}`, 'Bob Marley');
  const anaAccount = await ana.openAccount('USD');
  const bobAccount = await bob.openAccount('USD');

  // An operator deposit.
  assert.equal((await operator.loginClient(stack.operator.id, stack.operator.secret)).status, 200);
  const deposit = await operator.deposit(anaAccount, '10000');
  assert.equal(deposit.status, 201, JSON.stringify(deposit.body));
  const settlementAccount = deposit.body.fromAccountId as string;

  // Account events reach the alias service, which links Bob's first USD account to @bob.
  const resolved = await until(async () => {
    const r = await ana.get(`/v1/aliases/@bob_${tag}?currency=USD`);
    return r.status === 200 ? r.body : undefined;
  }, 'the alias to be linked to its account');
  assert.equal(resolved.accountId, bobAccount);
  assert.equal(resolved.displayName, 'Bob M.');

  // Flow 1: a transfer by alias; the response carries the sender's new balance.
  const key = randomUUID();
  const body = { fromAccountId: anaAccount, to: { alias: `@bob_${tag}` }, amount: '2500', currency: 'USD', description: 'rent' };
  const sent = await ana.transfer(body, key);
  assert.equal(sent.status, 201, JSON.stringify(sent.body));
  assert.equal(sent.body.toAccountId, bobAccount);
  assert.deepEqual(sent.body.source, { accountId: anaAccount, balanceAfter: '7500', sequence: '2' });

  // Flow 2: the balance service applies the event; Bob's balance changes.
  const bobBalance = await until(async () => {
    const r = await bob.balance(bobAccount);
    return r.status === 200 && r.body.available === '2500' ? r.body : undefined;
  }, "Bob's balance to reflect the transfer");
  assert.equal(bobBalance.sequence, '1');
  assert.equal(bobBalance.currency, 'USD');

  // An idempotent replay: the same response, no second movement.
  const replay = await ana.transfer(body, key);
  assert.equal(replay.status, 201);
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(replay.body, sent.body);
  const reused = await ana.transfer({ ...body, amount: '1' }, key);
  assert.equal(reused.status, 422);
  assert.equal(reused.body.code, 'idempotency_key_reused');

  // An insufficient-funds refusal says how much is available.
  const refused = await ana.transfer({ ...body, amount: '7501' });
  assert.equal(refused.status, 422);
  assert.equal(refused.headers.get('content-type')?.startsWith('application/problem+json'), true);
  assert.equal(refused.body.code, 'insufficient_funds');
  assert.equal(refused.body.available, '7500');

  // Another user's account is refused everywhere, as if it did not exist.
  assert.equal((await bob.get(`/v1/accounts/${anaAccount}`)).status, 404);
  assert.equal((await bob.balance(anaAccount)).status, 404);
  const stolen = await bob.transfer({ fromAccountId: anaAccount, to: { accountId: bobAccount }, amount: '1', currency: 'USD' });
  assert.equal(stolen.status, 404);
  assert.equal(stolen.body.code, 'account_not_found');
  assert.equal((await bob.deposit(bobAccount, '1')).status, 403);
  assert.equal((await new WalletClient(stack.gatewayUrl).get(`/v1/accounts/${anaAccount}`)).status, 401);

  // After events stop, the balance service agrees with the ledger, and the books sum to zero.
  const anaBalance = await until(async () => {
    const r = await ana.balance(anaAccount);
    return r.status === 200 && r.body.available === '7500' ? r.body : undefined;
  }, "Ana's projected balance");
  const settlement = await until(async () => {
    const r = await operator.balance(settlementAccount);
    return r.status === 200 && r.body.sequence !== '0' ? r.body : undefined;
  }, 'the settlement balance');
  assert.equal(BigInt(anaBalance.available as string) + BigInt(bobBalance.available as string) + BigInt(settlement.available as string), 0n);
}
