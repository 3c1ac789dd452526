// Holds, reversals, overdrafts and audit events against real PostgreSQL and RabbitMQ.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventually, needsInfra } from '@wallet/testkit';
import { envelope } from '@wallet/kit';
import { eventTypes, type HoldChanged, type TransactionCreated, type TransactionRejected } from '@wallet/contracts';
import { startLedgerStack, type LedgerStack } from './support/ledger-stack.ts';

const options = await needsInfra();

describe('holds, reversals and overdrafts', options, () => {
  let s: LedgerStack;

  before(async () => {
    s = await startLedgerStack({ HOLD_EXPIRY_INTERVAL_MS: '100' });
  });
  after(async () => {
    await s?.stop();
  });

  /** A funded payer and a payee, with their owners' tokens. */
  const pair = async (funds = '1000') => {
    const payer = s.openAccount(randomUUID());
    const payee = s.openAccount(randomUUID());
    if (funds !== '0') assert.equal((await s.deposit(payer.id, funds)).status, 201);
    return { payer, payee, payerToken: await s.issuer.userToken(payer.ownerId), payeeToken: await s.issuer.userToken(payee.ownerId) };
  };
  const hold = (token: string, from: string, to: string, amount: string, extra: object = {}) =>
    s.call('POST', '/v1/holds', token, { fromAccountId: from, to: { accountId: to }, amount, currency: 'USD', ...extra }, randomUUID());
  const eventsOf = (type: string, holdId: string) => s.events.filter((e) => e.type === type && (e.data as HoldChanged).hold.id === holdId);

  test('a hold reserves; a partial post captures part and releases the rest; the hold then stays posted', async () => {
    const { payer, payee, payerToken, payeeToken } = await pair();
    const created = await hold(payerToken, payer.id, payee.id, '600', { reference: 'order-7', metadata: { channel: 'card' }, description: 'authorisation' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.status, 'pending');
    assert.equal(created.body.reference, 'order-7');
    assert.deepEqual(created.body.metadata, { channel: 'card' });
    assert.ok(Date.parse(created.body.expiresAt) > Date.now() + 6 * 86_400_000, 'default timeout is 7 days');
    assert.equal(await s.balanceOf(payer.id), 1000n);
    assert.equal(await s.pendingOf(payer.id), 600n);

    // Only 400 remains available.
    const tooMuch = await s.call('POST', '/v1/transfers', payerToken, { fromAccountId: payer.id, to: { accountId: payee.id }, amount: '401', currency: 'USD' }, randomUUID());
    assert.equal(tooMuch.body.code, 'insufficient_funds');
    assert.equal(tooMuch.body.available, '400');

    const over = await s.call('POST', `/v1/holds/${created.body.id}/post`, payeeToken, { amount: '601' }, randomUUID());
    assert.equal(over.status, 422);
    assert.equal(over.body.code, 'hold_amount_exceeded');

    const posted = await s.call('POST', `/v1/holds/${created.body.id}/post`, payeeToken, { amount: '250' }, randomUUID());
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    assert.equal(posted.body.status, 'posted');
    assert.equal(posted.body.postedAmount, '250');
    assert.equal(await s.balanceOf(payer.id), 750n);
    assert.equal(await s.pendingOf(payer.id), 0n);
    assert.equal(await s.balanceOf(payee.id), 250n);

    const capture = await s.call('GET', `/v1/transfers/${posted.body.transferId}`, payerToken);
    assert.equal(capture.body.kind, 'capture');
    assert.equal(capture.body.holdId, created.body.id);
    assert.equal(capture.body.reference, 'order-7');

    for (const [path, body] of [['post', {}], ['void', {}]] as const) {
      const again = await s.call('POST', `/v1/holds/${created.body.id}/${path}`, s.operator, body, randomUUID());
      assert.equal(again.status, 409);
      assert.equal(again.body.code, 'hold_not_pending');
      assert.equal(again.body.holdStatus, 'posted');
    }
    await eventually(async () => (eventsOf(eventTypes.holdPosted, created.body.id).length === 1 ? true : undefined), 10_000, 'hold_posted');
    const [createdEvent] = eventsOf(eventTypes.holdCreated, created.body.id);
    assert.deepEqual(
      (createdEvent!.data as HoldChanged).entries.map((e) => [e.amount, e.balanceAfter, e.pendingAmount, e.pendingAfter]),
      [['0', '1000', '600', '600']],
    );
    const postedEvent = eventsOf(eventTypes.holdPosted, created.body.id)[0]!.data as HoldChanged;
    assert.deepEqual(
      postedEvent.entries.map((e) => [e.accountId, e.amount, e.pendingAmount, e.pendingAfter]),
      [
        [payer.id, '-250', '-600', '0'],
        [payee.id, '250', '0', '0'],
      ],
    );
    for (const row of await s.totals()) assert.equal(row.total, 0n);
  });

  test('the payee or an operator voids; the payer cannot take a hold back; strangers do not see it', async () => {
    const { payer, payee, payerToken, payeeToken } = await pair();
    const created = await hold(payerToken, payer.id, payee.id, '300');
    const byPayer = await s.call('POST', `/v1/holds/${created.body.id}/void`, payerToken, {}, randomUUID());
    assert.equal(byPayer.status, 403);
    const stranger = await s.issuer.userToken(randomUUID());
    assert.equal((await s.call('GET', `/v1/holds/${created.body.id}`, stranger)).body.code, 'hold_not_found');
    assert.equal((await s.call('POST', `/v1/holds/${created.body.id}/post`, stranger, {}, randomUUID())).body.code, 'hold_not_found');
    assert.equal(await s.pendingOf(payer.id), 300n);

    const voided = await s.call('POST', `/v1/holds/${created.body.id}/void`, payeeToken, {}, randomUUID());
    assert.equal(voided.status, 200);
    assert.equal(voided.body.status, 'voided');
    assert.equal(await s.pendingOf(payer.id), 0n);
    assert.equal(await s.balanceOf(payer.id), 1000n);

    // Both parties list it; the payer's list filters by status.
    const listed = await s.call('GET', `/v1/holds?accountId=${payer.id}&status=voided`, payerToken);
    assert.deepEqual(listed.body.items.map((h: { id: string }) => h.id), [created.body.id]);
    assert.equal((await s.call('GET', `/v1/holds?accountId=${payer.id}&status=pending`, payerToken)).body.items.length, 0);
  });

  test('a hold past its timeout is expired exactly once by the job; a late post is refused', async () => {
    const { payer, payee, payerToken, payeeToken } = await pair();
    const created = await hold(payerToken, payer.id, payee.id, '500', { timeoutSeconds: 1 });
    await eventually(async () => ((await s.call('GET', `/v1/holds/${created.body.id}`, payerToken)).body.status === 'expired' ? true : undefined), 10_000, 'expiry');
    assert.equal(await s.pendingOf(payer.id), 0n);
    const late = await s.call('POST', `/v1/holds/${created.body.id}/post`, payeeToken, {}, randomUUID());
    assert.equal(late.status, 409);
    assert.equal(late.body.holdStatus, 'expired');
    await eventually(async () => (eventsOf(eventTypes.holdExpired, created.body.id).length > 0 ? true : undefined), 10_000, 'hold_expired');
    await new Promise((r) => setTimeout(r, 300)); // several more job runs
    assert.equal(eventsOf(eventTypes.holdExpired, created.body.id).length, 1);
    const releases = await s.infra.db.query('SELECT 1 FROM ledger.entries WHERE transfer_id = $1 AND pending_amount < 0', [created.body.id]);
    assert.equal(releases.rows.length, 1);
  });

  test('20 parallel posts of one hold: exactly one captures; racing post and void: one wins', async () => {
    const { payer, payee, payerToken, payeeToken } = await pair();
    const created = await hold(payerToken, payer.id, payee.id, '400');
    const posts = await Promise.all(Array.from({ length: 20 }, (_, i) => s.call('POST', `/v1/holds/${created.body.id}/post`, i % 2 ? payeeToken : payerToken, {}, randomUUID())));
    assert.equal(posts.filter((p) => p.status === 200).length, 1);
    assert.ok(posts.every((p) => p.status === 200 || p.body.code === 'hold_not_pending'));
    assert.equal(await s.balanceOf(payee.id), 400n);
    assert.equal(await s.balanceOf(payer.id), 600n);

    const second = await hold(payerToken, payer.id, payee.id, '100');
    const race = await Promise.all([
      s.call('POST', `/v1/holds/${second.body.id}/void`, payeeToken, {}, randomUUID()),
      s.call('POST', `/v1/holds/${second.body.id}/post`, payeeToken, {}, randomUUID()),
    ]);
    assert.equal(race.filter((r) => r.status === 200).length, 1);
    assert.equal(await s.pendingOf(payer.id), 0n);
    for (const row of await s.totals()) assert.equal(row.total, 0n);
  });

  test('the receiver reverses all or part of a transfer, never more than it moved; the sender cannot', async () => {
    const { payer, payee, payerToken, payeeToken } = await pair();
    const sent = await s.call('POST', '/v1/transfers', payerToken, { fromAccountId: payer.id, to: { accountId: payee.id }, amount: '300', currency: 'USD' }, randomUUID());
    const url = `/v1/transfers/${sent.body.id}/reversals`;
    assert.equal((await s.call('POST', url, payerToken, {}, randomUUID())).status, 403);
    assert.equal((await s.call('POST', url, await s.issuer.userToken(randomUUID()), {}, randomUUID())).body.code, 'transfer_not_found');

    const part = await s.call('POST', url, payeeToken, { amount: '100', reference: 'refund-1' }, randomUUID());
    assert.equal(part.status, 201, JSON.stringify(part.body));
    assert.equal(part.body.kind, 'reversal');
    assert.equal(part.body.reversalOf, sent.body.id);
    assert.equal(part.body.fromAccountId, payee.id);
    const tooMuch = await s.call('POST', url, payeeToken, { amount: '201' }, randomUUID());
    assert.equal(tooMuch.body.code, 'reversal_amount_exceeded');
    assert.equal(tooMuch.body.remaining, '200');
    const rest = await s.call('POST', url, s.operator, {}, randomUUID());
    assert.equal(rest.status, 201);
    assert.equal(rest.body.amount, '200');
    assert.equal((await s.call('POST', url, payeeToken, {}, randomUUID())).body.code, 'reversal_amount_exceeded');
    assert.equal((await s.call('GET', `/v1/transfers/${sent.body.id}`, payerToken)).body.reversedAmount, '300');
    assert.equal((await s.call('POST', `/v1/transfers/${part.body.id}/reversals`, s.operator, {}, randomUUID())).body.code, 'transfer_not_reversible');
    assert.equal((await s.call('POST', `/v1/transfers/${part.body.id}/reversals`, payerToken, {}, randomUUID())).body.code, 'transfer_not_reversible');
    assert.equal(await s.balanceOf(payer.id), 1000n);
    assert.equal(await s.balanceOf(payee.id), 0n);
    await eventually(async () => (s.events.some((e) => e.type === eventTypes.transactionCreated && (e.data as TransactionCreated).transfer.reversalOf === sent.body.id) ? true : undefined));
  });

  test('10 racing full reversals: one succeeds; a receiver without the money cannot reverse', async () => {
    const { payer, payee, payerToken, payeeToken } = await pair();
    const sent = await s.call('POST', '/v1/transfers', payerToken, { fromAccountId: payer.id, to: { accountId: payee.id }, amount: '500', currency: 'USD' }, randomUUID());
    const url = `/v1/transfers/${sent.body.id}/reversals`;
    const racing = await Promise.all(Array.from({ length: 10 }, () => s.call('POST', url, payeeToken, {}, randomUUID())));
    assert.equal(racing.filter((r) => r.status === 201).length, 1);
    assert.equal(await s.balanceOf(payer.id), 1000n);

    const again = await s.call('POST', '/v1/transfers', payerToken, { fromAccountId: payer.id, to: { accountId: payee.id }, amount: '500', currency: 'USD' }, randomUUID());
    const other = s.openAccount(randomUUID());
    await s.call('POST', '/v1/transfers', payeeToken, { fromAccountId: payee.id, to: { accountId: other.id }, amount: '500', currency: 'USD' }, randomUUID());
    const broke = await s.call('POST', `/v1/transfers/${again.body.id}/reversals`, payeeToken, {}, randomUUID());
    assert.equal(broke.body.code, 'insufficient_funds');
  });

  test('an operator-set overdraft lets the account go below zero, only that far; lowering it stops spending', async () => {
    const { payer, payee, payerToken } = await pair('100');
    const limits = (overdraftLimit: string) =>
      s.infra.bus.publish([
        envelope('account', eventTypes.accountLimitsChanged, { accountId: payer.id, ownerId: payer.ownerId, overdraftLimit, tier: 'standard', changedAt: new Date().toISOString() }),
      ]);
    const send = (amount: string) => s.call('POST', '/v1/transfers', payerToken, { fromAccountId: payer.id, to: { accountId: payee.id }, amount, currency: 'USD' }, randomUUID());
    await limits('500');
    await eventually(async () => ((await s.infra.db.query<{ o: bigint }>('SELECT overdraft_limit AS o FROM ledger.accounts WHERE id = $1', [payer.id])).rows[0]?.o === 500n ? true : undefined));
    assert.equal((await send('400')).status, 201);
    const refused = await send('201');
    assert.equal(refused.body.code, 'insufficient_funds');
    assert.equal(refused.body.available, '200');
    assert.equal(await s.balanceOf(payer.id), -300n);
    await limits('0');
    await eventually(async () => ((await s.infra.db.query<{ o: bigint }>('SELECT overdraft_limit AS o FROM ledger.accounts WHERE id = $1', [payer.id])).rows[0]?.o === 0n ? true : undefined));
    assert.equal((await send('1')).body.available, '0');
    assert.equal(await s.balanceOf(payer.id), -300n, 'the debt stays; it just cannot grow');
  });

  test('every refused attempt is published as transaction.rejected for audit; nothing moved', async () => {
    const { payer, payee, payerToken } = await pair('10');
    const refused = await s.call('POST', '/v1/transfers', payerToken, { fromAccountId: payer.id, to: { accountId: payee.id }, amount: '11', currency: 'USD', reference: 'r-1' }, randomUUID());
    assert.equal(refused.body.code, 'insufficient_funds');
    const event = await eventually(async () => s.events.find((e) => e.type === eventTypes.transactionRejected && (e.data as TransactionRejected).attempt.fromAccountId === payer.id));
    const data = event.data as TransactionRejected;
    assert.equal(data.code, 'insufficient_funds');
    assert.deepEqual(data.attempt, { kind: 'transfer', fromAccountId: payer.id, toAccountId: payee.id, amount: '11', currency: 'USD', reference: 'r-1', targetId: null });
    assert.equal(await s.balanceOf(payer.id), 10n);
  });
});
