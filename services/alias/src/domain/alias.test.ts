import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAlias, parseAliasQuery } from './alias.ts';

test('alias queries read handles with or without @ in any casing', () => {
  assert.deepEqual(parseAliasQuery('@Ana.P'), { type: 'handle', canonical: 'ana.p' });
  assert.deepEqual(parseAliasQuery('ana.p'), { type: 'handle', canonical: 'ana.p' });
  assert.deepEqual(parseAliasQuery('ADMIN'), { type: 'handle', canonical: 'admin' });
  assert.equal(parseAliasQuery('not an alias'), undefined);
  assert.equal(parseAliasQuery('x'), undefined);
  assert.equal(formatAlias('handle', 'Ana.P'), '@Ana.P');
});
