import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAlias, needsVerification, parseAliasQuery, parseNewAlias } from './alias.ts';

const fixedKey = () => '3f0c8a52-9d4e-4b61-8c7a-2e5f9b0d1a34';

test('alias queries read handles with or without @ in any casing', () => {
  assert.deepEqual(parseAliasQuery('@Ana.P'), { type: 'handle', canonical: 'ana.p' });
  assert.deepEqual(parseAliasQuery('ana.p'), { type: 'handle', canonical: 'ana.p' });
  assert.deepEqual(parseAliasQuery('ADMIN'), { type: 'handle', canonical: 'admin' });
  assert.equal(parseAliasQuery('not an alias'), undefined);
  assert.equal(parseAliasQuery('x'), undefined);
  assert.equal(formatAlias('handle', 'Ana.P'), '@Ana.P');
});

test('alias queries tell the type from the shape: UUID, e-mail, +phone, handle', () => {
  assert.deepEqual(parseAliasQuery('Ana.P@Example.COM'), { type: 'email', canonical: 'ana.p@example.com' });
  assert.deepEqual(parseAliasQuery('+55 11 98765-4321'), { type: 'phone', canonical: '+5511987654321' });
  assert.deepEqual(parseAliasQuery('+5511987654321'), { type: 'phone', canonical: '+5511987654321' });
  assert.deepEqual(parseAliasQuery('3F0C8A52-9D4E-4B61-8C7A-2E5F9B0D1A34'), { type: 'random', canonical: '3f0c8a52-9d4e-4b61-8c7a-2e5f9b0d1a34' });
  // Digits without "+" are a handle (handles may be all digits), never a phone number.
  assert.deepEqual(parseAliasQuery('5511987654321'), { type: 'handle', canonical: '5511987654321' });
  // Shapes that cannot be any alias.
  assert.equal(parseAliasQuery('+1 555'), undefined);
  assert.equal(parseAliasQuery('ana@'), undefined);
  assert.equal(parseAliasQuery('3f0c8a52-9d4e-1b61-8c7a-2e5f9b0d1a34'), undefined, 'a UUID that is not v4');
  assert.equal(parseAliasQuery('@ana@example.com'), undefined);
});

test('new aliases: values are parsed per type, random keys are generated', () => {
  assert.deepEqual(parseNewAlias('email', ' Ana@Example.com ', fixedKey), { ok: true, alias: { type: 'email', canonical: 'ana@example.com', display: 'Ana@Example.com' } });
  assert.deepEqual(parseNewAlias('phone', '+1 (202) 555-0143', fixedKey), { ok: true, alias: { type: 'phone', canonical: '+12025550143', display: '+12025550143' } });
  assert.deepEqual(parseNewAlias('handle', '@Bea', fixedKey), { ok: true, alias: { type: 'handle', canonical: 'bea', display: 'Bea' } });
  assert.deepEqual(parseNewAlias('random', undefined, fixedKey), { ok: true, alias: { type: 'random', canonical: fixedKey(), display: fixedKey() } });
  assert.equal(parseNewAlias('random', 'mine', fixedKey).ok, false);
  assert.equal(parseNewAlias('email', undefined, fixedKey).ok, false);
  assert.equal(parseNewAlias('phone', '11 98765 4321', fixedKey).ok, false);
  const reserved = parseNewAlias('handle', 'support', fixedKey);
  assert.equal(!reserved.ok && reserved.code, 'handle_reserved');
  assert.equal(needsVerification('email') && needsVerification('phone'), true);
  assert.equal(needsVerification('handle') || needsVerification('random'), false);
});
