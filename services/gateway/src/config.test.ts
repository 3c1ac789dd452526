import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '@wallet/kit';
import { loadConfig } from './config.ts';

const base = { INTERNAL_CLIENT_SECRET: 'x'.repeat(32) };

test('defaults: services on localhost, keys from the alias service, 64 KiB bodies', () => {
  const config = loadConfig(base);
  assert.equal(config.upstreams.alias, 'http://127.0.0.1:8081');
  assert.equal(config.upstreams.balance, 'http://127.0.0.1:8084');
  assert.equal(config.jwksUrl, 'http://127.0.0.1:8081/.well-known/jwks.json');
  assert.equal(config.bodyLimitBytes, 65536);
  assert.equal(config.upstreamTimeoutMs, 10_000);
  assert.ok(config.rateLimit.credentialsMax < config.rateLimit.anonymousMax);
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.rateLimit));
});

test('overrides', () => {
  const config = loadConfig({
    ...base,
    ALIAS_URL: 'http://alias.wallet.svc:8081/',
    JWKS_URL: 'http://keys.example/jwks.json',
    TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1',
    RATE_LIMIT_CALLER_MAX: '5',
    DOCS_ENABLED: 'false',
  });
  assert.equal(config.upstreams.alias, 'http://alias.wallet.svc:8081');
  assert.equal(config.jwksUrl, 'http://keys.example/jwks.json');
  assert.deepEqual(config.trustedProxies, ['10.0.0.0/8', '127.0.0.1']);
  assert.equal(config.rateLimit.callerMax, 5);
  assert.equal(config.docs.enabled, false);
});

test('an upstream may be a list of instances; the first one is the service\'s address for readiness, docs and keys', () => {
  const config = loadConfig({ ...base, ACCOUNT_URL: 'http://10.0.0.1:8082/, http://10.0.0.2:8082' });
  assert.deepEqual(config.upstreamInstances.account, ['http://10.0.0.1:8082', 'http://10.0.0.2:8082']);
  assert.equal(config.upstreams.account, 'http://10.0.0.1:8082');
  assert.deepEqual(config.upstreamInstances.alias, ['http://127.0.0.1:8081']);
  assert.equal(config.upstreamBreakerResetMs, 2000);
  assert.throws(() => loadConfig({ ...base, ACCOUNT_URL: 'http://a:1,http://a:1' }), ConfigError);
  assert.throws(() => loadConfig({ ...base, ACCOUNT_URL: 'http://a:1,nope' }), ConfigError);
  assert.throws(() => loadConfig({ ...base, ACCOUNT_URL: ' , ' }), ConfigError);
});

test('bad values are refused at boot', () => {
  assert.throws(() => loadConfig({ ...base, ACCOUNT_URL: 'not a url' }), ConfigError);
  assert.throws(() => loadConfig({ ...base, ACCOUNT_URL: 'ftp://x' }), ConfigError);
  assert.throws(() => loadConfig({ ...base, BODY_LIMIT_BYTES: '-1' }), ConfigError);
  assert.throws(() => loadConfig({ ...base, RATE_LIMIT_CALLER_MAX: '0' }), ConfigError);
  assert.throws(() => loadConfig({}), ConfigError, 'INTERNAL_CLIENT_SECRET has no default');
});
