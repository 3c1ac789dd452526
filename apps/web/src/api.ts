// The public API (README, "The API"), spoken over fetch from the same origin as the gateway.
import type { Problem } from './problems.ts';
import { loadSession, saveSession, type Session } from './session.ts';

/** A refusal from the API (problem+json). */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.code);
  }
}

/** No answer at all: the request may or may not have arrived. */
export class NetworkError extends Error {
  override name = 'NetworkError';
}

export interface Account { id: string; ownerId: string; currency: string; name: string; type: string; status: string; overdraftLimit: string; tier: string; createdAt: string }
export interface Balance { accountId: string; currency: string; posted: string; pending: string; available: string; overdraftLimit: string; sequence: string; updatedAt: string }
export interface Transfer {
  id: string; kind: string; fromAccountId: string; toAccountId: string; amount: string; currency: string;
  description: string | null; reversedAmount: string; reversalOf: string | null; createdAt: string;
  source?: { accountId: string; balanceAfter: string; sequence: string };
}
export interface Page<T> { items: T[]; nextCursor: string | null }
export interface StatementLine { sequence: string; transferId: string; kind: string; amount: string; balanceAfter: string; counterpartyAccountId: string; description: string | null; createdAt: string }
export interface Statement { accountId: string; currency: string; from: string; to: string; openingBalance: string; closingBalance: string; entries: StatementLine[]; nextCursor: string | null }
export interface HistoryDay { date: string; openingBalance: string; closingBalance: string; entries: number }
export interface Payee { alias: string; type: string; displayName: string; accountId: string; currency: string }
export interface OwnAlias { id: string; alias: string; type: string; status: 'active' | 'pending'; verified: boolean; expiresAt?: string; accounts: { currency: string; accountId: string; status: string }[] }
export interface Me { id: string; handle: string; displayName: string; [key: string]: unknown }

export interface Figures {
  driftedAccounts: number | null; checkedAccounts: number | null; lagEntriesMax: number | null; driftCheckedAt: string | null; repairs: number | null;
  eventLag: { events: number; meanSeconds: number | null; p99Seconds: number | null };
}

interface TokenReply { access_token: string; refresh_token?: string }

type Listener = (session: Session | undefined) => void;

let session = loadSession();
const listeners = new Set<Listener>();

export function currentSession(): Session | undefined {
  return session;
}

export function setSession(next: Session | undefined): void {
  session = next;
  saveSession(next);
  for (const listener of listeners) listener(next);
}

export function onSession(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

async function send(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, init);
  } catch (error) {
    throw new NetworkError(error instanceof Error ? error.message : String(error));
  }
}

async function problemOf(response: Response): Promise<Problem> {
  try {
    const body = (await response.json()) as Problem;
    if (typeof body.code === 'string') return { ...body, status: response.status };
  } catch {
    // not problem+json (a proxy's page): described by the status alone
  }
  return { status: response.status, code: response.status >= 500 ? 'dependency_unavailable' : 'unknown', detail: response.statusText };
}

async function tokenRequest(fields: Record<string, string>): Promise<TokenReply> {
  const response = await send('/v1/auth/token', { method: 'POST', body: new URLSearchParams(fields) });
  if (!response.ok) throw new ApiError(await problemOf(response));
  return (await response.json()) as TokenReply;
}

let refreshing: Promise<boolean> | undefined;

/** A new access token from the refresh token (rotating); false when the login has ended. */
function refresh(): Promise<boolean> {
  const refreshToken = session?.refreshToken;
  if (!session || !refreshToken) return Promise.resolve(false);
  const current = session;
  refreshing ??= tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken })
    .then((reply) => {
      setSession({ ...current, accessToken: reply.access_token, refreshToken: reply.refresh_token ?? refreshToken });
      return true;
    })
    .catch(() => false)
    .finally(() => (refreshing = undefined));
  return refreshing;
}

export interface RequestOptions {
  body?: unknown;
  idempotencyKey?: string;
  lastEventId?: string;
  signal?: AbortSignal;
}

/** A response with the caller's token; a 401 refreshes the token once, then logs out. */
export async function authorized(method: string, path: string, options: RequestOptions = {}, retried = false): Promise<Response> {
  const headers: Record<string, string> = {};
  if (session) headers.authorization = `Bearer ${session.accessToken}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const response = await send(path, { method, headers, body, ...(options.signal ? { signal: options.signal } : {}) });
  if (response.status === 401 && !retried) {
    if (await refresh()) return authorized(method, path, options, true);
    setSession(undefined);
  }
  if (!response.ok) throw new ApiError(await problemOf(response));
  return response;
}

export async function call<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const response = await authorized(method, path, options);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

const q = (params: Record<string, string | undefined>) => {
  const search = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  const text = search.toString();
  return text ? `?${text}` : '';
};
const id = encodeURIComponent;

export const api = {
  async logIn(handle: string, password: string, totp?: string): Promise<void> {
    const fields: Record<string, string> = { grant_type: 'password', username: handle, password };
    if (totp) fields[/^[0-9]{6}$/.test(totp) ? 'totp' : 'recovery_code'] = totp;
    const reply = await tokenRequest(fields);
    setSession({ kind: 'person', name: handle.replace(/^@/, ''), accessToken: reply.access_token, ...(reply.refresh_token ? { refreshToken: reply.refresh_token } : {}) });
  },
  async operatorLogIn(clientId: string, clientSecret: string): Promise<void> {
    const reply = await tokenRequest({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
    setSession({ kind: 'operator', name: clientId, accessToken: reply.access_token });
  },
  async logOut(): Promise<void> {
    const token = session?.refreshToken;
    setSession(undefined);
    if (token) await send('/v1/auth/revoke', { method: 'POST', body: new URLSearchParams({ token, token_type_hint: 'refresh_token' }) }).catch(() => undefined);
  },
  async signUp(handle: string, password: string, displayName: string): Promise<void> {
    const response = await send('/v1/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ handle, password, displayName }) });
    if (!response.ok) throw new ApiError(await problemOf(response));
  },
  me: () => call<Me>('GET', '/v1/me'),
  accounts: () => call<{ items: Account[] }>('GET', '/v1/accounts').then((r) => r.items),
  account: (accountId: string) => call<Account>('GET', `/v1/accounts/${id(accountId)}`),
  openAccount: (currency: string, name?: string) => call<Account>('POST', '/v1/accounts', { body: { currency, ...(name ? { name } : {}) } }),
  renameAccount: (accountId: string, name: string) => call<Account>('PATCH', `/v1/accounts/${id(accountId)}`, { body: { name } }),
  balance: (accountId: string) => call<Balance>('GET', `/v1/accounts/${id(accountId)}/balance`),
  history: (accountId: string, from: string, to: string) =>
    call<{ days: HistoryDay[] } & Record<string, unknown>>('GET', `/v1/accounts/${id(accountId)}/balance/history${q({ from, to, interval: 'day' })}`),
  statement: (accountId: string, cursor?: string, limit = 20) => call<Statement>('GET', `/v1/accounts/${id(accountId)}/statement${q({ cursor, limit: String(limit) })}`),
  statementRange: (accountId: string, from: string, to: string, cursor?: string) =>
    call<Statement>('GET', `/v1/accounts/${id(accountId)}/statement${q({ from, to, cursor, limit: '5000' })}`),
  statementCsv: (accountId: string) => authorized('GET', `/v1/accounts/${id(accountId)}/statement${q({ format: 'csv', limit: '5000' })}`).then((r) => r.text()),
  transfers: (accountId: string, cursor?: string, limit = 10) => call<Page<Transfer>>('GET', `/v1/transfers${q({ accountId, cursor, limit: String(limit) })}`),
  transfer: (transferId: string) => call<Transfer>('GET', `/v1/transfers/${id(transferId)}`),
  lookUp: (alias: string, currency: string) => call<Payee>('GET', `/v1/aliases/${id(alias)}${q({ currency })}`),
  send: (body: { fromAccountId: string; to: { alias: string } | { accountId: string }; amount: string; currency: string; description?: string }, key: string) =>
    call<Transfer>('POST', '/v1/transfers', { body, idempotencyKey: key }),
  aliases: () => call<{ aliases: OwnAlias[]; max: number }>('GET', '/v1/me/aliases'),
  addAlias: (type: 'email' | 'phone', value: string) => call<OwnAlias>('POST', '/v1/me/aliases', { body: { type, value } }),
  verifyAlias: (aliasId: string, code: string) => call<OwnAlias>('POST', `/v1/me/aliases/${id(aliasId)}/verify`, { body: { code } }),
  resendCode: (aliasId: string) => call<unknown>('POST', `/v1/me/aliases/${id(aliasId)}/resend`, { body: {} }),
  linkAlias: (aliasId: string, currency: string, accountId: string) => call<unknown>('PUT', `/v1/me/aliases/${id(aliasId)}/accounts/${id(currency)}`, { body: { accountId } }),
  unlinkAlias: (aliasId: string, currency: string) => call<unknown>('DELETE', `/v1/me/aliases/${id(aliasId)}/accounts/${id(currency)}`),
  removeAlias: (aliasId: string) => call<unknown>('DELETE', `/v1/me/aliases/${id(aliasId)}`),
  totpStatus: () => call<{ enabled: boolean; [key: string]: unknown }>('GET', '/v1/me/totp'),
  totpEnrol: (password: string) => call<{ secret: string; otpauthUri: string }>('POST', '/v1/me/totp', { body: { password } }),
  totpConfirm: (code: string) => call<{ recoveryCodes: string[] }>('POST', '/v1/me/totp/confirm', { body: { code } }),
  totpDisable: (password: string, code: string) => call<unknown>('POST', '/v1/me/totp/disable', { body: { password, code } }),
  move: (kind: 'deposits' | 'withdrawals', body: { accountId: string; amount: string; currency: string }, key: string) =>
    call<Transfer>('POST', `/v1/${kind}`, { body, idempotencyKey: key }),
  figures: () => call<Figures>('GET', '/v1/admin/figures'),
  setFrozen: (accountId: string, frozen: boolean) => call<Account>('POST', `/v1/accounts/${id(accountId)}/${frozen ? 'freeze' : 'unfreeze'}`),
  reverse: (transferId: string, amount: string | undefined, key: string) =>
    call<Transfer>('POST', `/v1/transfers/${id(transferId)}/reversals`, { body: amount ? { amount } : {}, idempotencyKey: key }),
};
