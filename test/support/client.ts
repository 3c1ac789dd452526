// A small client of the public API, as an integrator would write it.
import { randomUUID } from 'node:crypto';

export interface Reply {
  status: number;
  body: Record<string, unknown> & { code?: string };
  headers: Headers;
}

export class WalletClient {
  constructor(
    readonly baseUrl: string,
    public token?: string,
  ) {}

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
    const response = await fetch(new URL(path, this.baseUrl), {
      method,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers };
  }

  get = (path: string) => this.request('GET', path);
  post = (path: string, body?: unknown, headers?: Record<string, string>) => this.request('POST', path, body, headers);

  /** Signs up and logs in; returns the user id. */
  async signUp(handle: string, displayName: string, password = 'correct horse battery'): Promise<string> {
    const created = await this.post('/v1/users', { handle, password, displayName });
    if (created.status !== 201) throw new Error(`sign-up ${handle}: ${created.status} ${JSON.stringify(created.body)}`);
    const login = await this.login(handle, password);
    if (login.status !== 200) throw new Error(`login ${handle}: ${login.status} ${JSON.stringify(login.body)}`);
    return created.body.id as string;
  }

  async login(username: string, password: string): Promise<Reply> {
    const response = await this.form({ grant_type: 'password', username, password });
    if (response.status === 200) this.token = response.body.access_token as string;
    return response;
  }

  async loginClient(clientId: string, clientSecret: string): Promise<Reply> {
    const response = await this.form({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
    if (response.status === 200) this.token = response.body.access_token as string;
    return response;
  }

  async form(fields: Record<string, string>): Promise<Reply> {
    const response = await fetch(new URL('/v1/auth/token', this.baseUrl), { method: 'POST', body: new URLSearchParams(fields) });
    return { status: response.status, body: (await response.json()) as Reply['body'], headers: response.headers };
  }

  async openAccount(currency = 'USD'): Promise<string> {
    const r = await this.post('/v1/accounts', { currency });
    if (r.status !== 201) throw new Error(`open account: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id as string;
  }

  transfer(body: unknown, key: string = randomUUID()) {
    return this.post('/v1/transfers', body, { 'idempotency-key': key });
  }

  deposit(accountId: string, amount: string, currency = 'USD') {
    return this.post('/v1/deposits', { accountId, amount, currency }, { 'idempotency-key': randomUUID() });
  }

  async balance(accountId: string): Promise<Reply> {
    return this.get(`/v1/accounts/${accountId}/balance`);
  }
}

export async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
