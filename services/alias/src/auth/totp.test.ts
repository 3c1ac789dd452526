import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isTotpCode, newTotpSecret, totpCode, totpStep, totpUri, verifyTotp } from './totp.ts';

// RFC 6238 appendix B, SHA-1 secret "12345678901234567890"; 6-digit codes are the last six digits.
const rfcSecret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

describe('TOTP', () => {
  test('RFC 6238 test vectors', () => {
    assert.equal(totpCode(rfcSecret, 59_000), '287082');
    assert.equal(totpCode(rfcSecret, 1_111_111_109_000), '081804');
    assert.equal(totpCode(rfcSecret, 1_234_567_890_000), '005924');
    assert.equal(totpCode(rfcSecret, 2_000_000_000_000), '279037');
  });

  test('a code is valid for the previous, current and next step, and returns its step', () => {
    const now = 1_700_000_015_000;
    const step = totpStep(now);
    assert.equal(verifyTotp(rfcSecret, totpCode(rfcSecret, now), now, null), step);
    assert.equal(verifyTotp(rfcSecret, totpCode(rfcSecret, now - 30_000), now, null), step - 1);
    assert.equal(verifyTotp(rfcSecret, totpCode(rfcSecret, now + 30_000), now, null), step + 1);
    assert.equal(verifyTotp(rfcSecret, totpCode(rfcSecret, now - 60_000), now, null), undefined);
    assert.equal(verifyTotp(rfcSecret, totpCode(rfcSecret, now + 60_000), now, null), undefined);
  });

  test('a code is not accepted twice, nor one older than the last used', () => {
    const now = 1_700_000_015_000;
    const code = totpCode(rfcSecret, now);
    const step = verifyTotp(rfcSecret, code, now, null)!;
    assert.equal(verifyTotp(rfcSecret, code, now, step), undefined);
    assert.equal(verifyTotp(rfcSecret, totpCode(rfcSecret, now - 30_000), now, step), undefined);
    assert.equal(verifyTotp(rfcSecret, totpCode(rfcSecret, now + 30_000), now, step), step + 1);
  });

  test('malformed codes are refused without error', () => {
    const now = Date.now();
    for (const code of ['', '12345', '1234567', 'abcdef', '12 34 5a', '١٢٣٤٥٦']) assert.equal(verifyTotp(rfcSecret, code, now, null), undefined);
    assert.equal(isTotpCode('123 456'), true);
    assert.equal(verifyTotp(rfcSecret, totpCode(rfcSecret, now).replace(/(\d{3})/, '$1 '), now, null), totpStep(now));
  });

  test('secrets are 160 random bits; the URI is what authenticator apps read', () => {
    const secret = newTotpSecret();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.notEqual(secret, newTotpSecret());
    const uri = new URL(totpUri(secret, '@ana', 'Wallet'));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(decodeURIComponent(uri.pathname), '/Wallet:@ana');
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.equal(uri.searchParams.get('issuer'), 'Wallet');
    assert.equal(uri.searchParams.get('digits'), '6');
    assert.equal(uri.searchParams.get('period'), '30');
  });
});
