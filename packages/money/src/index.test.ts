import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AMOUNT_MAX, currency, formatMajor, parseAmount } from './index.ts';

test('currencies carry their ISO 4217 minor-unit digits', () => {
  assert.equal(currency('USD')?.minorUnitDigits, 2);
  assert.equal(currency('JPY')?.minorUnitDigits, 0);
  assert.equal(currency('BHD')?.minorUnitDigits, 3);
  assert.equal(currency('XAU'), undefined);
  assert.equal(currency('usd'), undefined);
  assert.equal(currency('ZZZ'), undefined);
});

test('amounts are positive integers of minor units, nothing else', () => {
  assert.equal(parseAmount('1050'), 1050n);
  assert.equal(parseAmount(AMOUNT_MAX.toString()), AMOUNT_MAX);
  for (const bad of ['0', '-1', '10.5', '1e3', '01', ' 1', '١٢', '9223372036854775808', '99999999999999999999', '']) {
    assert.equal(parseAmount(bad), undefined, bad);
  }
});

test('every bigint in range round-trips through its digit string', () => {
  fc.assert(fc.property(fc.bigInt({ min: 1n, max: AMOUNT_MAX }), (n) => parseAmount(n.toString()) === n));
});

test('formats major units without floating point', () => {
  assert.equal(formatMajor(1050n, 'USD'), '10.50');
  assert.equal(formatMajor(5n, 'USD'), '0.05');
  assert.equal(formatMajor(-5n, 'BHD'), '-0.005');
  assert.equal(formatMajor(1234n, 'JPY'), '1234');
});
