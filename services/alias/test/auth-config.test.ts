// The authentication settings: trusted proxies, throttling, TOTP key, key rotation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ConfigError, parseTrustedProxies } from '@wallet/kit';
import { authConfig } from '../src/auth/config.ts';

test('trusted proxies: addresses, CIDR ranges and proxy-addr names; nothing else', () => {
  assert.deepEqual(parseTrustedProxies(' 10.0.0.1, 10.0.0.0/8 ,fd00::/8,::1,loopback ', 'X'), ['10.0.0.1', '10.0.0.0/8', 'fd00::/8', '::1', 'loopback']);
  assert.deepEqual(parseTrustedProxies('', 'X'), []);
  for (const bad of ['gateway', '10.0.0.0/33', '::/129', '10.0.0.1/8/1', '10.0.0', '*']) assert.throws(() => parseTrustedProxies(bad, 'X'), ConfigError, bad);
});

test('defaults: loopback trusted; 5 free failures then delays, lock after 10 for 15 min; 90-day key rotation', () => {
  const config = authConfig({});
  assert.deepEqual(config.trustedProxies, ['loopback']);
  assert.deepEqual(config.throttle.account, { delayAfterFailures: 5, lockAfterFailures: 10, baseDelayMs: 1000, maxDelayMs: 60_000, lockMs: 900_000, windowMs: 86_400_000 });
  assert.equal(config.throttle.address.delayAfterFailures, 20);
  assert.equal(config.throttle.address.lockAfterFailures, 100);
  assert.equal(config.totpEncryptionKey, undefined);
  assert.deepEqual({ ...config.signingKeys }, { rotationDays: 90, publishDelaySeconds: 120, retiredMarginSeconds: 300 });
  assert.deepEqual(authConfig({ SERVICE_TRUSTED_PROXIES: '' }).trustedProxies, ['loopback']);
  assert.deepEqual(authConfig({ SERVICE_TRUSTED_PROXIES: 'none' }).trustedProxies, []);
  assert.deepEqual(authConfig({ SERVICE_TRUSTED_PROXIES: '10.1.0.0/16, loopback' }).trustedProxies, ['10.1.0.0/16', 'loopback']);
});

test('bad settings are refused at boot', () => {
  assert.throws(() => authConfig({ LOGIN_DELAY_AFTER_FAILURES: '6', LOGIN_LOCK_AFTER_FAILURES: '5' }), ConfigError);
  assert.throws(() => authConfig({ TOTP_ENCRYPTION_KEY: randomBytes(16).toString('base64') }), ConfigError);
  assert.throws(() => authConfig({ TOTP_ENCRYPTION_KEY: 'not base64 at all!' }), ConfigError);
  assert.throws(() => authConfig({ SERVICE_TRUSTED_PROXIES: 'the-gateway' }), ConfigError);
  const key = randomBytes(32);
  assert.deepEqual(authConfig({ TOTP_ENCRYPTION_KEY: key.toString('base64url') }).totpEncryptionKey, key);
  assert.deepEqual(authConfig({ TOTP_ENCRYPTION_KEY: key.toString('base64') }).totpEncryptionKey, key);
});
