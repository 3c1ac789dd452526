// Starts the alias service on a test infrastructure and offers the calls the tests repeat.
import assert from 'node:assert/strict';
import type { Infra, RunningService } from '@wallet/kit';
import { TEST_INTERNAL_SECRET, type TestInfra } from '@wallet/testkit';
import { createAliasService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';

export const OPERATOR_ID = 'ops-test';
export const OPERATOR_SECRET = 'operator-secret-for-tests-0123';
export const PASSWORD = 'correct horse battery';

export function testEnv(infra: Pick<TestInfra, 'env'>, extra: Record<string, string> = {}) {
  return { ...infra.env, INTERNAL_CLIENT_SECRET: TEST_INTERNAL_SECRET, OPERATOR_CLIENT_ID: OPERATOR_ID, OPERATOR_CLIENT_SECRET: OPERATOR_SECRET, ...extra };
}

export async function startAlias(infra: Infra, env: Record<string, string | undefined>): Promise<RunningService> {
  const service = await createAliasService(loadConfig(env), infra);
  await service.start();
  return service;
}

export type Inject = RunningService['app']['inject'];

export async function signUp(service: RunningService, handle: string, displayName = 'Ana Paula Pereira') {
  const response = await service.app.inject({ method: 'POST', url: '/v1/users', payload: { handle, password: PASSWORD, displayName } });
  assert.equal(response.statusCode, 201, response.body);
  return response.json<{ id: string; handle: string; displayName: string; createdAt: string }>();
}

export function tokenRequest(service: RunningService, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return service.app.inject({
    method: 'POST',
    url: '/v1/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(fields).toString(),
  });
}

export async function login(service: RunningService, username: string, password = PASSWORD) {
  const response = await tokenRequest(service, { grant_type: 'password', username, password });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<{ access_token: string; refresh_token: string; expires_in: number; token_type: string; scope: string }>();
}

export async function serviceToken(service: RunningService, clientId = 'svc-transaction') {
  const response = await tokenRequest(service, { grant_type: 'client_credentials', client_id: clientId, client_secret: TEST_INTERNAL_SECRET });
  assert.equal(response.statusCode, 200, response.body);
  return response.json<{ access_token: string }>().access_token;
}

export function get(service: RunningService, url: string, token?: string) {
  return service.app.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} });
}

export async function count(infra: Infra, table: string): Promise<number> {
  const { rows } = await infra.db.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM alias.${table}`);
  return Number(rows[0]!.n);
}

export function assertProblem(response: { statusCode: number; headers: Record<string, unknown>; json<T>(): T }, status: number, code: string) {
  assert.equal(response.statusCode, status);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const body = response.json<{ code: string; status: number; title: string; stack?: unknown }>();
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  assert.equal(body.stack, undefined);
  return body;
}
