import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableOf, canRead } from './balance.ts';
import { UNBOUNDED_OVERDRAFT } from './entry.ts';

test('owners and operators read a balance; nobody else does', () => {
  assert.equal(canRead({ ownerId: 'ana' }, { subject: 'ana', operator: false }), true);
  assert.equal(canRead({ ownerId: 'ana' }, { subject: 'bob', operator: false }), false);
  assert.equal(canRead({ ownerId: 'ana' }, { subject: 'ops', operator: true }), true);
});

test('until its owner is known, only operators read a balance', () => {
  assert.equal(canRead({ ownerId: null }, { subject: 'ana', operator: false }), false);
  assert.equal(canRead({ ownerId: null }, { subject: 'ops', operator: true }), true);
});

test('available is posted − pending + overdraft limit; a settlement account\'s unbounded limit is not added', () => {
  assert.equal(availableOf({ posted: 1000n, pending: 300n, overdraftLimit: 0n }), 700n);
  assert.equal(availableOf({ posted: 1000n, pending: 300n, overdraftLimit: 500n }), 1200n);
  assert.equal(availableOf({ posted: -200n, pending: 0n, overdraftLimit: 500n }), 300n);
  // Below the limit (it was lowered after the account went that far): negative.
  assert.equal(availableOf({ posted: -800n, pending: 100n, overdraftLimit: 500n }), -400n);
  assert.equal(availableOf({ posted: -5_000_000n, pending: 250n, overdraftLimit: UNBOUNDED_OVERDRAFT }), -5_000_250n);
});
