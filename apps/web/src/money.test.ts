import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AMOUNT_MAX, formatAmount, formatMinor, parseMajor } from './money.ts';
import { digitsOf } from './currencies.ts';

const minor = (text: string, digits: number) => {
  const parsed = parseMajor(text, digits);
  return parsed.ok ? parsed.minor : parsed.reason;
};

test('major units become exact minor units from the decimal text', () => {
  assert.equal(minor('10', 2), 1000n);
  assert.equal(minor('10.5', 2), 1050n);
  assert.equal(minor('10.50', 2), 1050n);
  assert.equal(minor(' 0.01 ', 2), 1n);
  assert.equal(minor('.5', 2), 50n);
  assert.equal(minor('7,25', 2), 725n);
  // 0.1 + 0.2 style float errors cannot happen: 0.29 * 100 is 28.999999999999996 as a float.
  assert.equal(minor('0.29', 2), 29n);
  assert.equal(minor('1.005', 3), 1005n);
  assert.equal(minor('1234', 0), 1234n);
  assert.equal(minor('92233720368547758.07', 2), AMOUNT_MAX);
  // Beyond 2^53 a float would lose the last digits.
  assert.equal(minor('90071992547409.93', 2), 9007199254740993n);
});

test('anything else is refused with a reason', () => {
  assert.equal(minor('', 2), 'Enter an amount.');
  assert.equal(minor('.', 2), 'Enter an amount.');
  assert.equal(minor('0', 2), 'The amount must be more than zero.');
  assert.equal(minor('0.00', 2), 'The amount must be more than zero.');
  assert.equal(minor('1.234', 2), 'At most 2 decimals.');
  assert.equal(minor('1.5', 0), 'This currency has no decimals.');
  assert.equal(minor('92233720368547758.08', 2), 'That amount is too large.');
  for (const bad of ['-5', '+5', '1e3', '1,000.50', '1 000', '1.2.3', 'abc', 'Infinity', '0x10']) {
    assert.equal(typeof minor(bad, 2), 'string', bad);
  }
});

test('minor units are formatted with the currency exponent', () => {
  assert.equal(formatMinor(1050n, 2), '10.50');
  assert.equal(formatMinor(5n, 2), '0.05');
  assert.equal(formatMinor(0n, 2), '0.00');
  assert.equal(formatMinor(-123456n, 2), '-1,234.56');
  assert.equal(formatMinor(1234567n, 0), '1,234,567');
  assert.equal(formatMinor(1005n, 3), '1.005');
  assert.equal(formatAmount('9223372036854775807', 2), '92,233,720,368,547,758.07');
});

test('parsing what was formatted gives the amount back', () => {
  for (const [amount, digits] of [[1n, 2], [1050n, 2], [999n, 0], [1005n, 3], [AMOUNT_MAX, 2]] as const) {
    assert.equal(minor(formatMinor(amount, digits).replaceAll(',', ''), digits), amount);
  }
});

test('exponents come from ISO 4217', () => {
  assert.equal(digitsOf('USD'), 2);
  assert.equal(digitsOf('JPY'), 0);
  assert.equal(digitsOf('BHD'), 3);
});
