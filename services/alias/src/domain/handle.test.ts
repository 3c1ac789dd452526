import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isReservedHandle, parseHandle } from './handle.ts';

test('a handle keeps its casing for display and compares lower-cased, with or without @', () => {
  assert.deepEqual(parseHandle('@Ana.P'), { ok: true, handle: { display: 'Ana.P', canonical: 'ana.p' } });
  assert.deepEqual(parseHandle('bob_99'), { ok: true, handle: { display: 'bob_99', canonical: 'bob_99' } });
});

test('a handle has 3 to 30 characters, not counting the @', () => {
  assert.equal(parseHandle('abc').ok, true);
  assert.equal(parseHandle('@abc').ok, true);
  assert.equal(parseHandle('a'.repeat(30)).ok, true);
  for (const bad of ['ab', '@ab', '', '@', 'a'.repeat(31)]) {
    const result = parseHandle(bad);
    assert.equal(result.ok, false, bad);
    assert.equal(!result.ok && result.code, 'validation_failed');
  }
});

test('a handle has only a-z, digits, _ and ., without edge or double dots', () => {
  for (const bad of ['ana-p', 'ana p', 'anã', 'ana@x', '@@ana', '.ana', 'ana.', 'an..a', 'ana\u212A', 'ana\n', 'ｆｕｌｌ']) {
    assert.equal(parseHandle(bad).ok, false, JSON.stringify(bad));
  }
  assert.equal(parseHandle('a.n_a').ok, true);
  assert.equal(parseHandle('_ana_').ok, true);
});

test('reserved names are refused with handle_reserved, whatever the casing or separators', () => {
  for (const name of ['admin', 'Administrator', '@SUPPORT', 'wallet', 'root', 'api', 'www', 'null', 'undefined', 'settlement', 'ad_min', 'sup.port', 'w.w.w']) {
    const result = parseHandle(name);
    assert.equal(!result.ok && result.code, 'handle_reserved', name);
  }
  assert.equal(isReservedHandle('me'), true);
  assert.equal(parseHandle('admiral').ok, true);
  assert.equal(parseHandle('wallet_fan').ok, true);
});
