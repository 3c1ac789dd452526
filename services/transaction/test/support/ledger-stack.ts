// The transaction service against real PostgreSQL and RabbitMQ, with the account and alias services
// stood in for by a small HTTP server answering their internal routes (the end-to-end tests use the
// real ones). Each stack has its own database and broker namespace.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestInfra, startTestIssuer, type TestInfra, type TestIssuer } from '@wallet/testkit';
import type { EventEnvelope, RunningService } from '@wallet/kit';
import type { Account } from '@wallet/contracts';
import { createTransactionService } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';

// Tests read response bodies field by field, as a client would.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = any;

export interface LedgerStack {
  infra: TestInfra;
  issuer: TestIssuer;
  service: RunningService;
  operator: string;
  accounts: Map<string, Account>;
  aliases: Map<string, string>;
  /** Every `transaction.*` event published, in arrival order. */
  events: EventEnvelope[];
  openAccount(ownerId: string, currency?: string, type?: Account['type']): Account;
  call(method: string, url: string, token: string, body?: unknown, key?: string): Promise<{ status: number; body: Body; headers: Record<string, unknown> }>;
  deposit(accountId: string, amount: string): Promise<{ status: number; body: Body }>;
  balanceOf(id: string): Promise<bigint | undefined>;
  pendingOf(id: string): Promise<bigint | undefined>;
  /** Sum of balances per currency (must be zero). */
  totals(): Promise<{ currency: string; total: bigint }[]>;
  stop(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => resolve(body));
  });
}

export async function startLedgerStack(env: Record<string, string> = {}): Promise<LedgerStack> {
  const infra = await createTestInfra();
  const issuer = await startTestIssuer();
  const operator = await issuer.operatorToken();
  const accounts = new Map<string, Account>();
  const aliases = new Map<string, string>();
  const events: EventEnvelope[] = [];

  const openAccount = (ownerId: string, currency = 'USD', type: Account['type'] = 'user'): Account => {
    const account: Account = { id: randomUUID(), ownerId, currency, name: 'test', type, status: 'active', overdraftLimit: '0', tier: 'standard', createdAt: new Date().toISOString() };
    accounts.set(account.id, account);
    return account;
  };

  const directory: Server = createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    let m = /^\/internal\/accounts\/([^/]+)$/.exec(url.pathname);
    if (m) return accounts.has(m[1]!) ? json(200, accounts.get(m[1]!)) : json(404, { code: 'account_not_found' });
    m = /^\/internal\/settlement-accounts\/([A-Z]{3})$/.exec(url.pathname);
    if (m) {
      const existing = [...accounts.values()].find((a) => a.type === 'settlement' && a.currency === m![1]);
      return json(200, existing ?? openAccount('system', m[1], 'settlement'));
    }
    m = /^\/internal\/aliases\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const accountId = aliases.get(decodeURIComponent(m[1]!));
      return accountId ? json(200, { alias: m[1], accountId, userId: accounts.get(accountId)?.ownerId, currency: 'USD' }) : json(404, { code: 'alias_not_found' });
    }
    // Everything else (JWKS, token endpoint) is the test issuer's.
    const upstream = await fetch(new URL(req.url!, issuer.url), { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? '' }, body: req.method === 'POST' ? await readBody(req) : undefined });
    res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
  });
  await new Promise<void>((resolve) => directory.listen(0, '127.0.0.1', resolve));
  const directoryUrl = `http://127.0.0.1:${(directory.address() as AddressInfo).port}`;
  await infra.bus.subscribe({ queue: 'test.probe', topics: ['transaction.*'], handler: async (e) => void events.push(e) });
  const config = loadConfig({ ...infra.env, ...issuer.env, ALIAS_URL: directoryUrl, ACCOUNT_URL: directoryUrl, ...env });
  const service = await createTransactionService(config, infra);
  await service.start();

  const call: LedgerStack['call'] = async (method, url, token, body, key) => {
    const response = await service.app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${token}`, ...(key ? { 'idempotency-key': key } : {}) },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return { status: response.statusCode, body: response.json(), headers: response.headers };
  };
  const column = (name: 'balance' | 'pending') => async (id: string) =>
    (await infra.db.query<{ value: bigint }>(`SELECT ${name} AS value FROM ledger.accounts WHERE id = $1`, [id])).rows[0]?.value;

  return {
    infra,
    issuer,
    service,
    operator,
    accounts,
    aliases,
    events,
    openAccount,
    call,
    deposit: (accountId, amount) => call('POST', '/v1/deposits', operator, { accountId, amount, currency: 'USD' }, randomUUID()),
    balanceOf: column('balance'),
    pendingOf: column('pending'),
    totals: async () => (await infra.db.query<{ currency: string; total: bigint }>('SELECT currency, sum(balance)::bigint AS total FROM ledger.accounts GROUP BY currency')).rows,
    async stop() {
      await service.stop();
      await new Promise((resolve) => directory.close(resolve));
      await issuer.close();
      await infra.destroy();
    },
  };
}
