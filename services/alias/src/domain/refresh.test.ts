import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideRefresh } from './refresh.ts';

const now = new Date('2030-01-01T00:00:00Z');
const later = new Date('2030-01-31T00:00:00Z');

test('an unspent token of a live family rotates', () => {
  assert.equal(decideRefresh({ spentAt: null, familyRevokedAt: null, familyExpiresAt: later }, now), 'rotate');
});

test('a spent token is reuse, which revokes the family', () => {
  assert.equal(decideRefresh({ spentAt: now, familyRevokedAt: null, familyExpiresAt: later }, now), 'reuse_detected');
});

test('a revoked family refuses even unspent tokens; an expired one refuses everything', () => {
  assert.equal(decideRefresh({ spentAt: null, familyRevokedAt: now, familyExpiresAt: later }, now), 'family_revoked');
  assert.equal(decideRefresh({ spentAt: null, familyRevokedAt: null, familyExpiresAt: now }, now), 'expired');
});
