import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskDisplayName, normalizeDisplayName } from './display-name.ts';

test('display names are trimmed, inner white space folded, 1 to 80 characters', () => {
  assert.deepEqual(normalizeDisplayName('  Ana   Paula\tPereira '), { ok: true, displayName: 'Ana Paula Pereira' });
  assert.equal(normalizeDisplayName('   ').ok, false);
  assert.equal(normalizeDisplayName('').ok, false);
  assert.equal(normalizeDisplayName('x'.repeat(80)).ok, true);
  assert.equal(normalizeDisplayName('x'.repeat(81)).ok, false);
  // Counted in characters people see: 80 accented letters written decomposed still fit.
  assert.equal(normalizeDisplayName('e\u0301'.repeat(80)).ok, true);
});

test('display names have no control or bidi-override characters', () => {
  assert.equal(normalizeDisplayName('Ana\u0000').ok, false);
  assert.equal(normalizeDisplayName('Ana \u202EP').ok, false);
  assert.equal(normalizeDisplayName('Ana\u0007').ok, false);
});

test('masking shows the first word and the last word initial', () => {
  assert.equal(maskDisplayName('Ana Paula Pereira'), 'Ana P.');
  assert.equal(maskDisplayName('Ana pereira'), 'Ana P.');
  assert.equal(maskDisplayName('José Ávila'), 'José Á.');
  assert.equal(maskDisplayName('Zoë 😀Smile'), 'Zoë 😀.');
});

test('one-word names keep one or two characters', () => {
  assert.equal(maskDisplayName('Madonna'), 'Ma***');
  assert.equal(maskDisplayName('Ana'), 'A***');
  assert.equal(maskDisplayName('É'), 'É***');
  assert.equal(maskDisplayName('👩‍👩‍👧‍👦family'), '👩‍👩‍👧‍👦f***');
  assert.equal(maskDisplayName(''), '***');
});
