import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalPath } from './proxy.ts';

test('canonical paths pass unchanged, query strings are not part of the check', () => {
  for (const url of ['/v1/accounts', '/v1/aliases/%40ana', '/v1/aliases/ana.silva%40example.com', '/v1/transfers?cursor=..%2F..&x=/../', '/v1/accounts/a...b']) {
    assert.equal(canonicalPath(url), url.split('?')[0], url);
  }
});

test('paths that a URL parser would resolve elsewhere are refused', () => {
  for (const url of [
    '/v1/accounts/../internal/x',
    '/v1/accounts/./x',
    '/v1/accounts/%2e%2e/internal',
    '/v1/accounts/%2E/x',
    '/v1/accounts/.%2e/internal',
    '/v1/accounts/x%2f..%2finternal',
    '/v1/accounts/x%5c..',
    '/v1/accounts/x\\..\\internal',
    '//evil.example/v1',
    '/v1/accounts/%00',
    '/v1/accounts/%0d%0aX: y',
    '/v1/accounts/%E0%A4%A',
    'v1/accounts',
    '',
  ]) {
    assert.equal(canonicalPath(url), undefined, url);
  }
});
