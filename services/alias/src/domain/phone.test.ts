import { test } from 'node:test';
import assert from 'node:assert/strict';
import { looksLikePhone, parsePhone } from './phone.ts';

test('phone numbers: international form in, E.164 out', () => {
  assert.deepEqual(parsePhone('+55 11 98765-4321'), { ok: true, phone: { e164: '+5511987654321', country: 'BR' } });
  assert.deepEqual(parsePhone('+1 (202) 555-0143'), { ok: true, phone: { e164: '+12025550143', country: 'US' } });
  assert.deepEqual(parsePhone('+44 20 7946 0958'), { ok: true, phone: { e164: '+442079460958', country: 'GB' } });
  assert.deepEqual(parsePhone(' +351.912.345.678 '), { ok: true, phone: { e164: '+351912345678', country: 'PT' } });
});

test('phone numbers: without "+", with letters, or not valid in their plan, are refused', () => {
  for (const bad of ['11987654321', '(11) 98765-4321', '+', '+0 123', '+1 555 0100', '+55 11 98765-43210000', '+55 11 CALL-NOW', 'tel:+5511987654321', '+1 202 555 0143 ext 7', '++5511987654321', `+${'1'.repeat(40)}`]) {
    assert.equal(parsePhone(bad).ok, false, bad);
  }
});

test('phone shape: starts with "+"', () => {
  assert.equal(looksLikePhone('+5511'), true);
  assert.equal(looksLikePhone('5511'), false);
});
