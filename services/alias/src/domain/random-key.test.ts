import { test } from 'node:test';
import assert from 'node:assert/strict';
import { looksLikeRandomKey, newRandomKey, parseRandomKey } from './random-key.ts';

test('random keys are UUID v4: random, distinct, canonical lower case', () => {
  const keys = new Set(Array.from({ length: 1000 }, newRandomKey));
  assert.equal(keys.size, 1000);
  for (const key of keys) {
    assert.equal(parseRandomKey(key), key);
    assert.equal(key[14], '4');
  }
  const key = newRandomKey();
  assert.equal(parseRandomKey(key.toUpperCase()), key);
});

test('random keys: other UUID versions look like keys but are not ones', () => {
  const v1 = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
  assert.equal(looksLikeRandomKey(v1), true);
  assert.equal(parseRandomKey(v1), undefined);
  assert.equal(looksLikeRandomKey('ana'), false);
  assert.equal(parseRandomKey('not-a-uuid'), undefined);
});
