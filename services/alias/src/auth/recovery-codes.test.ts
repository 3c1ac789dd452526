import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from './recovery-codes.ts';

test('ten distinct codes of four groups of four Crockford characters', () => {
  const codes = newRecoveryCodes();
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  for (const code of codes) assert.match(code, /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
});

test('normalised: case, dashes and spaces ignored; I, L, O read as 1, 1, 0', () => {
  assert.equal(normalizeRecoveryCode('7k2m-9xqd-4hwt-b3ne'), '7K2M9XQD4HWTB3NE');
  assert.equal(normalizeRecoveryCode(' 7K2M 9XQD 4HWT B3NE '), '7K2M9XQD4HWTB3NE');
  assert.equal(normalizeRecoveryCode('IL0O-0000-0000-0000'), '1100000000000000');
  for (const bad of ['', '7K2M-9XQD-4HWT', '7K2M-9XQD-4HWT-B3NEX', '7K2M-9XQD-4HWT-B3NU', '123456']) assert.equal(normalizeRecoveryCode(bad), undefined);
});

test('hashes are stable and differ per code', () => {
  const [a, b] = newRecoveryCodes(2).map((c) => normalizeRecoveryCode(c)!);
  assert.equal(hashRecoveryCode(a!), hashRecoveryCode(a!));
  assert.notEqual(hashRecoveryCode(a!), hashRecoveryCode(b!));
  assert.match(hashRecoveryCode(a!), /^[0-9a-f]{64}$/);
});
