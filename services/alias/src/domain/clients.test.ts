import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientRegistry, grantedScope } from './clients.ts';

const registry = clientRegistry([
  { id: 'svc-account', secret: 'internal-secret-0123456789', scope: 'wallet:internal' },
  { id: 'ops', secret: 'operator-secret-0123456789', scope: 'wallet:operator' },
]);

test('a client authenticates with its own secret only', () => {
  assert.deepEqual(registry.authenticate('svc-account', 'internal-secret-0123456789'), { id: 'svc-account', scope: 'wallet:internal' });
  assert.deepEqual(registry.authenticate('ops', 'operator-secret-0123456789'), { id: 'ops', scope: 'wallet:operator' });
  assert.equal(registry.authenticate('ops', 'internal-secret-0123456789'), undefined);
  assert.equal(registry.authenticate('svc-account', 'internal-secret-012345678'), undefined);
  assert.equal(registry.authenticate('svc-account', ''), undefined);
  assert.equal(registry.authenticate('nobody', 'internal-secret-0123456789'), undefined);
});

test('requested scopes must be a subset of the allowed ones', () => {
  assert.equal(grantedScope('wallet:user', undefined), 'wallet:user');
  assert.equal(grantedScope('wallet:user', ''), 'wallet:user');
  assert.equal(grantedScope('wallet:user', 'wallet:user wallet:user'), 'wallet:user');
  assert.equal(grantedScope('wallet:user', 'wallet:operator'), undefined);
  assert.equal(grantedScope('wallet:user', 'wallet:user wallet:internal'), undefined);
});
