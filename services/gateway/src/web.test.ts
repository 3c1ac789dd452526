import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createService, type App } from '@wallet/kit';
import { isApiPath, registerWeb } from './web.ts';

let app: App;
let root: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'wallet-web-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(root, 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(join(root, '..', `${root.split('/').at(-1)}-secret.txt`), 'secret');
  ({ app } = await createService({ name: 'gateway', logLevel: 'silent' }));
  app.get('/v1/accounts', async () => ({ items: [] }));
  await registerWeb(app, { root, limit: async () => undefined });
  await app.ready();
});

after(async () => {
  await app.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(`${root}-secret.txt`, { force: true });
});

test('the app at / and at its own paths (index.html), files as they are', async () => {
  for (const url of ['/', '/send', '/operator/login', '/history?x=1']) {
    const response = await app.inject({ url });
    assert.equal(response.statusCode, 200, url);
    assert.match(response.headers['content-type'] as string, /text\/html/);
    assert.match(response.body, /<title>app<\/title>/);
    assert.equal(response.headers['cache-control'], 'no-cache');
    assert.match(response.headers['content-security-policy'] as string, /default-src 'self'/);
  }
  const asset = await app.inject({ url: '/assets/index-abc.js' });
  assert.equal(asset.statusCode, 200);
  assert.equal(asset.body, 'console.log(1)');
  assert.match(asset.headers['cache-control'] as string, /immutable/);
});

test('API paths are never the app: routes answer, unknown ones stay 404 problems', async () => {
  assert.deepEqual((await app.inject({ url: '/v1/accounts' })).json(), { items: [] });
  for (const url of ['/v1/nothing', '/v1', '/.well-known/nothing', '/internal/x', '/docs/nothing', '/METRICS/x']) {
    const response = await app.inject({ url });
    assert.equal(response.statusCode, 404, url);
    assert.match(response.headers['content-type'] as string, /application\/problem\+json/, url);
  }
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
});

test('missing files are 404s, and nothing outside the build is served', async () => {
  assert.equal((await app.inject({ url: '/favicon.ico' })).statusCode, 404);
  assert.equal((await app.inject({ url: '/assets/gone.js' })).statusCode, 404);
  const name = `${root.split('/').at(-1)}-secret.txt`;
  for (const url of [`/../${name}`, `/%2e%2e/${name}`, `/assets/..%2f..%2f${name}`]) {
    const response = await app.inject({ url });
    assert.notEqual(response.body, 'secret', url);
  }
});

test('API prefixes', () => {
  assert.equal(isApiPath('/v1/transfers'), true);
  assert.equal(isApiPath('/.well-known/jwks.json'), true);
  assert.equal(isApiPath('/openapi.json'), true);
  assert.equal(isApiPath('/send'), false);
  assert.equal(isApiPath('/v1x'), false);
});
