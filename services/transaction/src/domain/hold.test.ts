import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideHold, decidePost, decideRelease, isExpired, type LedgerHold } from './hold.ts';
import { afterPosting, available } from './transfer.ts';
import { ledgerAccount } from './fixture.ts';

const account = ledgerAccount;
const holdOf = (amount: bigint, over: Partial<LedgerHold> = {}): LedgerHold => ({
  id: 'h',
  status: 'pending',
  fromAccountId: 'a',
  toAccountId: 'b',
  amount,
  postedAmount: 0n,
  currency: 'USD',
  expiresAt: null,
  description: null,
  reference: null,
  metadata: {},
  initiatedBy: 'u1',
  createdAt: new Date(0),
  finishedAt: null,
  transferId: null,
  ...over,
});

test('a hold reserves without moving the posted balance', () => {
  const d = decideHold(account({ balance: 100n }), account({ id: 'b' }), 60n, 'USD');
  assert.ok(d.ok);
  assert.deepEqual(d.reserve, { accountId: 'a', amount: 0n, balanceAfter: 100n, pendingAmount: 60n, pendingAfter: 60n, sequence: 1n });
  assert.equal(available(afterPosting(account({ balance: 100n }), d.reserve)), 40n);
});

test('a hold cannot reserve more than is available', () => {
  const d = decideHold(account({ balance: 100n, pending: 50n }), account({ id: 'b' }), 51n, 'USD');
  assert.ok(!d.ok && d.code === 'insufficient_funds' && d.extra?.available === '50');
});

test('posting part releases the whole reservation; posting twice or too much is refused', () => {
  const from = account({ balance: 100n, pending: 60n, sequence: 1n });
  const d = decidePost(holdOf(60n), from, account({ id: 'b' }), 25n);
  assert.ok(d.ok);
  assert.equal(d.debit.amount, -25n);
  assert.equal(d.debit.pendingAfter, 0n);
  assert.equal(d.credit.balanceAfter, 25n);
  assert.equal(decidePost(holdOf(60n), from, account({ id: 'b' }), 61n).ok, false);
  const again = decidePost(holdOf(60n, { status: 'posted' }), from, account({ id: 'b' }), undefined);
  assert.ok(!again.ok && again.code === 'hold_not_pending' && again.extra?.holdStatus === 'posted');
});

test('expiry is due only for pending holds past their time', () => {
  const now = new Date(1000);
  assert.equal(isExpired(holdOf(1n, { expiresAt: new Date(1000) }), now), true);
  assert.equal(isExpired(holdOf(1n, { expiresAt: new Date(1001) }), now), false);
  assert.equal(isExpired(holdOf(1n, { expiresAt: new Date(0), status: 'voided' }), now), false);
});

test('property: whatever holds, posts and voids happen, available never goes below the overdraft and money is conserved', () => {
  const step = fc.oneof(
    fc.record({ op: fc.constant('hold' as const), amount: fc.bigInt({ min: 1n, max: 200n }) }),
    fc.record({ op: fc.constant('post' as const), amount: fc.option(fc.bigInt({ min: 1n, max: 200n }), { nil: undefined }) }),
    fc.record({ op: fc.constant('void' as const) }),
  );
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 500n }), fc.array(step, { maxLength: 40 }), (funds, steps) => {
      let a = account({ balance: funds });
      let b = account({ id: 'b' });
      const holds: LedgerHold[] = [];
      for (const s of steps) {
        const open = holds.find((h) => h.status === 'pending');
        if (s.op === 'hold') {
          const d = decideHold(a, b, s.amount, 'USD');
          if (d.ok) {
            a = afterPosting(a, d.reserve);
            holds.push(holdOf(s.amount, { id: `h${holds.length}` }));
          }
        } else if (open && s.op === 'post') {
          const d = decidePost(open, a, b, s.amount);
          if (d.ok) {
            a = afterPosting(a, d.debit);
            b = afterPosting(b, d.credit);
            open.status = 'posted';
          }
        } else if (open) {
          const d = decideRelease(open, a);
          if (d.ok) {
            a = afterPosting(a, d.release);
            open.status = 'voided';
          }
        }
        assert.ok(available(a)! >= 0n);
        assert.equal(a.balance + b.balance, funds);
        assert.equal(a.pending, holds.filter((h) => h.status === 'pending').reduce((sum, h) => sum + h.amount, 0n));
      }
    }),
  );
});
