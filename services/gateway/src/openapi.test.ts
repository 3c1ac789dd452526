import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHiddenPath, mergeOpenApi } from './openapi.ts';

const info = { title: 'Wallet API', version: '1' };

test('merges paths and components and leaves out internal and operational paths', () => {
  const merged = mergeOpenApi(
    [
      {
        service: 'alias',
        document: {
          openapi: '3.0.3',
          paths: { '/v1/users': { post: { summary: 'sign up' } }, '/internal/aliases/{alias}': { get: {} }, '/healthz': { get: {} } },
          components: { schemas: { User: { type: 'object' }, Problem: { description: 'alias' } } },
          tags: [{ name: 'users' }],
        },
      },
      {
        service: 'account',
        document: {
          paths: { '/v1/accounts': { get: { summary: 'list' }, post: { summary: 'open' } }, '/metrics': { get: {} }, '/openapi.json': { get: {} } },
          components: { schemas: { Account: { type: 'object' }, Problem: { description: 'account' } } },
          tags: [{ name: 'accounts' }, { name: 'users' }],
        },
      },
      { service: 'balance', document: undefined },
    ],
    info,
  );
  assert.deepEqual(Object.keys(merged.paths).sort(), ['/v1/accounts', '/v1/users']);
  assert.deepEqual(Object.keys(merged.paths['/v1/accounts']!).sort(), ['get', 'post']);
  assert.deepEqual(Object.keys(merged.components.schemas!).sort(), ['Account', 'Problem', 'User']);
  assert.deepEqual(merged.components.schemas!.Problem, { description: 'alias' }, 'the first document wins a name clash');
  assert.ok(merged.components.securitySchemes!.bearer);
  assert.deepEqual(merged.tags, [{ name: 'users' }, { name: 'accounts' }]);
  assert.deepEqual(merged['x-unavailable-services'], ['balance']);
  assert.equal(merged.info, info);
});

test('hidden paths', () => {
  for (const path of ['/internal', '/internal/accounts/{id}', '/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/docs/json']) assert.ok(isHiddenPath(path), path);
  for (const path of ['/v1/internalish', '/v1/accounts', '/.well-known/jwks.json']) assert.ok(!isHiddenPath(path), path);
});
