import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from 'typebox';
import { createService } from './service.ts';
import { ProblemError } from './errors.ts';

async function app() {
  const { app } = await createService({ name: 'probe', logLevel: 'silent', bodyLimitBytes: 1024 });
  app.post('/things', { schema: { body: Type.Object({ amount: Type.String({ pattern: '^[0-9]+$' }) }, { additionalProperties: false }) } }, async (request) => request.body);
  app.get('/things/:id', async (request) => {
    const { id } = request.params as { id: string };
    if (id === 'boom') throw new Error('secret internals');
    throw new ProblemError('not_found', 'no such thing');
  });
  await app.ready();
  return app;
}

const problemType = 'application/problem+json; charset=utf-8';

test('every failure is problem+json with a stable code and no internals', async () => {
  const a = await app();
  const cases = [
    { request: { method: 'GET' as const, url: '/nowhere' }, status: 404, code: 'not_found' },
    { request: { method: 'GET' as const, url: '/things/%zz' }, status: 400, code: 'validation_failed' },
    { request: { method: 'GET' as const, url: '/things/x' }, status: 404, code: 'not_found' },
    { request: { method: 'GET' as const, url: '/things/boom' }, status: 500, code: 'internal_error' },
    { request: { method: 'POST' as const, url: '/things', payload: '{bad', headers: { 'content-type': 'application/json' } }, status: 400, code: 'malformed_json' },
    { request: { method: 'POST' as const, url: '/things', payload: { amount: 100 } }, status: 400, code: 'validation_failed' },
    { request: { method: 'POST' as const, url: '/things', payload: { amount: 'x'.repeat(2000) } }, status: 413, code: 'payload_too_large' },
    { request: { method: 'POST' as const, url: '/things', payload: 'amount=1', headers: { 'content-type': 'text/plain' } }, status: 415, code: 'unsupported_media_type' },
  ];
  for (const c of cases) {
    const response = await a.inject(c.request);
    assert.equal(response.statusCode, c.status, `${c.request.method} ${c.request.url}: ${response.body}`);
    assert.equal(response.headers['content-type'], problemType, c.request.url);
    assert.equal(response.json().code, c.code, c.request.url);
    assert.doesNotMatch(response.body, /secret internals|at .*\.ts/);
  }
  await a.close();
});

test('bodies are never coerced: unknown fields are dropped, numbers are not strings', async () => {
  const a = await app();
  const ok = await a.inject({ method: 'POST', url: '/things', payload: { amount: '5', balance: '1000000' } });
  assert.equal(ok.statusCode, 200);
  assert.deepEqual(ok.json(), { amount: '5' });
  assert.match(ok.headers['x-request-id'] as string, /^[0-9a-f-]{36}$/);
  const kept = await a.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'trace-123' } });
  assert.equal(kept.headers['x-request-id'], 'trace-123');
  await a.close();
});
