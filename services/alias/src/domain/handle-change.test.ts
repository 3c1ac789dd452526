import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideHandleChange } from './handle-change.ts';

const base = { current: 'ana', next: 'ana.p', changesMade: 0, changesMax: 2, reservedFor: undefined, userId: 'u1' };

test('handle changes: counted, limited, reservations respected', () => {
  assert.deepEqual(decideHandleChange(base), { kind: 'change', switchingBack: false });
  assert.deepEqual(decideHandleChange({ ...base, next: 'ana' }), { kind: 'casing_only' });
  assert.deepEqual(decideHandleChange({ ...base, changesMade: 2 }), { kind: 'refused', code: 'handle_change_limit_reached' });
  assert.deepEqual(decideHandleChange({ ...base, changesMade: 2, next: 'ana' }), { kind: 'casing_only' }, 'casing is always free');
  assert.deepEqual(decideHandleChange({ ...base, reservedFor: 'u2' }), { kind: 'refused', code: 'handle_taken' });
  assert.deepEqual(decideHandleChange({ ...base, reservedFor: 'u1' }), { kind: 'change', switchingBack: true });
  assert.deepEqual(decideHandleChange({ ...base, changesMax: 0 }), { kind: 'refused', code: 'handle_change_limit_reached' });
});
