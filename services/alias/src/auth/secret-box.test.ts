import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSecretBox } from './secret-box.ts';

test('seals and opens; the ciphertext does not contain the secret and differs each time', () => {
  const box = createSecretBox(randomBytes(32));
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const a = box.seal(secret, 'user-1');
  const b = box.seal(secret, 'user-1');
  assert.notEqual(a, b);
  assert.ok(!a.includes(secret));
  assert.match(a, /^v1\.[0-9a-f]{8}\./);
  assert.equal(box.open(a, 'user-1'), secret);
});

test('another context, another key or a changed byte do not open', () => {
  const box = createSecretBox(randomBytes(32));
  const sealed = box.seal('secret', 'user-1');
  assert.throws(() => box.open(sealed, 'user-2'));
  assert.throws(() => createSecretBox(randomBytes(32)).open(sealed, 'user-1'), /sealed with key/);
  const parts = sealed.split('.');
  parts[3] = Buffer.from('SECRET').toString('base64url');
  assert.throws(() => box.open(parts.join('.'), 'user-1'));
  assert.throws(() => box.open('garbage', 'user-1'));
  assert.throws(() => createSecretBox(randomBytes(16)));
});
