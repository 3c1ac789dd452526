// Calls the authentication tests repeat, against one alias service (app.inject). Requests come from
// 127.0.0.1, which the service trusts as a proxy by default: an X-Forwarded-For header then sets the
// client address, so each test can log in from an address of its own.
import assert from 'node:assert/strict';
import type { RunningService } from '@wallet/kit';
import { TEST_INTERNAL_SECRET } from '@wallet/testkit';
import { PASSWORD } from './helpers.ts';

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
  scope: string;
}

export function form(service: RunningService, url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return service.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(fields).toString(),
  });
}

export function passwordGrant(service: RunningService, username: string, password: string, from: string, extra: Record<string, string> = {}) {
  return form(service, '/v1/auth/token', { grant_type: 'password', username, password, ...extra }, { 'x-forwarded-for': from });
}

export async function loginFrom(service: RunningService, username: string, from: string, password = PASSWORD, extra: Record<string, string> = {}): Promise<TokenPair> {
  const response = await passwordGrant(service, username, password, from, extra);
  assert.equal(response.statusCode, 200, response.body);
  return response.json<TokenPair>();
}

export function call(service: RunningService, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token?: string, payload?: unknown, headers: Record<string, string> = {}) {
  return service.app.inject({
    method,
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
  });
}

export const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
export const serviceBasic = () => basic('svc-transaction', TEST_INTERNAL_SECRET);

export function introspect(service: RunningService, token: string, hint?: string) {
  return form(service, '/v1/auth/introspect', { token, ...(hint ? { token_type_hint: hint } : {}) }, { authorization: serviceBasic() });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A distinct documentation address (RFC 5737) per call, so tests do not share address counters. */
let nextAddress = 1;
export const freshAddress = () => `198.51.100.${nextAddress++}`;
