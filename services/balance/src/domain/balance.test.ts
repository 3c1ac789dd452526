import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canRead } from './balance.ts';

test('owners and operators read a balance; nobody else does', () => {
  assert.equal(canRead({ ownerId: 'ana' }, { subject: 'ana', operator: false }), true);
  assert.equal(canRead({ ownerId: 'ana' }, { subject: 'bob', operator: false }), false);
  assert.equal(canRead({ ownerId: 'ana' }, { subject: 'ops', operator: true }), true);
});

test('until its owner is known, only operators read a balance', () => {
  assert.equal(canRead({ ownerId: null }, { subject: 'ana', operator: false }), false);
  assert.equal(canRead({ ownerId: null }, { subject: 'ops', operator: true }), true);
});
