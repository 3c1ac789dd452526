// Test helpers: a tiny stand-in for the transaction service's ledger (it books movements and holds,
// hands out their transaction.created and transaction.hold_* events and answers the entry listing
// the balance service repairs from), a cache that can be made to fail, and small read helpers.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AccountLimitsChanged, AccountOpened, HoldChanged, HoldData, LedgerEntry, TransactionCreated, TransferKind } from '@wallet/contracts';
import type { App, Cache, VersionedWrite } from '@wallet/kit';

export interface FakeLedger {
  url: string;
  /** Paths of the entry listings asked for, with their query. */
  readonly requests: string[];
  /** Books `amount` from one account to the other and returns the event the real ledger would publish. */
  book(fromAccountId: string, toAccountId: string, amount: bigint, kind?: TransferKind): TransactionCreated;
  /** Reserves `amount` on the source (transaction.hold_created). */
  hold(fromAccountId: string, toAccountId: string, amount: bigint): HoldChanged;
  /** Posts a pending hold, all of it or `amount` (transaction.hold_posted): the reservation is released, the amount moved. */
  postHold(hold: HoldData, amount?: bigint): HoldChanged;
  /** Releases a pending hold (transaction.hold_voided, or hold_expired). */
  releaseHold(hold: HoldData, status: 'voided' | 'expired'): HoldChanged;
  /** The posted balance. */
  balanceOf(accountId: string): bigint;
  /** The amount reserved by pending holds. */
  pendingOf(accountId: string): bigint;
  /** The sequence of the account's last entry; 0 before the first. */
  sequenceOf(accountId: string): bigint;
  close(): Promise<void>;
}

export async function startFakeLedger(currency = 'USD'): Promise<FakeLedger> {
  const entries = new Map<string, LedgerEntry[]>();
  const requests: string[] = [];

  const post = (accountId: string, amount: bigint, createdAt: string, transferId: string, pendingAmount = 0n): LedgerEntry => {
    const list = entries.get(accountId) ?? [];
    const before = BigInt(list.at(-1)?.balanceAfter ?? '0');
    const pendingBefore = BigInt(list.at(-1)?.pendingAfter ?? '0');
    const entry: LedgerEntry = {
      accountId,
      transferId,
      currency,
      amount: amount.toString(),
      balanceAfter: (before + amount).toString(),
      pendingAmount: pendingAmount.toString(),
      pendingAfter: (pendingBefore + pendingAmount).toString(),
      sequence: String(list.length + 1),
      createdAt,
    };
    entries.set(accountId, [...list, entry]);
    return entry;
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://ledger');
    const match = /^\/internal\/accounts\/([^/]+)\/entries$/.exec(url.pathname);
    if (req.method !== 'GET' || !match) {
      res.writeHead(404).end();
      return;
    }
    if (!/^Bearer .+/.test(req.headers.authorization ?? '')) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"unauthorized"}');
      return;
    }
    requests.push(`${url.pathname}${url.search}`);
    const after = BigInt(url.searchParams.get('afterSequence') ?? '0');
    const limit = Number(url.searchParams.get('limit') ?? '100');
    const page = (entries.get(decodeURIComponent(match[1]!)) ?? []).filter((e) => BigInt(e.sequence) > after).slice(0, limit);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ entries: page }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    book(fromAccountId, toAccountId, amount, kind = 'transfer') {
      const createdAt = new Date().toISOString();
      const id = randomUUID();
      const debit = post(fromAccountId, -amount, createdAt, id);
      const credit = post(toAccountId, amount, createdAt, id);
      return {
        transfer: { id, kind, fromAccountId, toAccountId, amount: amount.toString(), currency, description: null, createdAt },
        entries: [debit, credit],
      };
    },
    hold(fromAccountId, toAccountId, amount) {
      const createdAt = new Date().toISOString();
      const hold: HoldData = {
        id: randomUUID(),
        status: 'pending',
        fromAccountId,
        toAccountId,
        amount: amount.toString(),
        postedAmount: '0',
        currency,
        expiresAt: null,
        description: null,
        reference: null,
        metadata: {},
        createdAt,
        finishedAt: null,
        transferId: null,
      };
      return { hold, entries: [post(fromAccountId, 0n, createdAt, hold.id, amount)] };
    },
    postHold(hold, amount = BigInt(hold.amount)) {
      const finishedAt = new Date().toISOString();
      const captureId = randomUUID();
      const debit = post(hold.fromAccountId, -amount, finishedAt, captureId, -BigInt(hold.amount));
      const credit = post(hold.toAccountId, amount, finishedAt, captureId);
      return { hold: { ...hold, status: 'posted', postedAmount: amount.toString(), finishedAt, transferId: captureId }, entries: [debit, credit] };
    },
    releaseHold(hold, status) {
      const finishedAt = new Date().toISOString();
      return { hold: { ...hold, status, finishedAt }, entries: [post(hold.fromAccountId, 0n, finishedAt, hold.id, -BigInt(hold.amount))] };
    },
    balanceOf: (accountId) => BigInt(entries.get(accountId)?.at(-1)?.balanceAfter ?? '0'),
    pendingOf: (accountId) => BigInt(entries.get(accountId)?.at(-1)?.pendingAfter ?? '0'),
    sequenceOf: (accountId) => BigInt(entries.get(accountId)?.length ?? 0),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export const UNBOUNDED = '9223372036854775807';

export function accountOpened(accountId: string, ownerId: string, currency = 'USD', overdraftLimit = '0', createdAt = new Date().toISOString()): AccountOpened {
  return { accountId, ownerId, currency, type: 'user', status: 'active', name: 'Main', overdraftLimit, tier: 'standard', createdAt };
}

/** A settlement account, as the account service opens it: unbounded overdraft. */
export function settlementOpened(accountId: string, currency = 'USD'): AccountOpened {
  return { accountId, ownerId: `settlement-${currency.toLowerCase()}`, currency, type: 'settlement', status: 'active', name: 'Settlement', overdraftLimit: UNBOUNDED, createdAt: new Date().toISOString() };
}

export function limitsChanged(accountId: string, ownerId: string, overdraftLimit: string, changedAt = new Date().toISOString()): AccountLimitsChanged {
  return { accountId, ownerId, overdraftLimit, tier: 'standard', changedAt };
}

/** The real cache, until `broken` is set: then every call fails as if Redis were down. */
export function breakableCache(inner: Cache): Cache & { broken: boolean } {
  const guard = <T>(work: () => Promise<T>): Promise<T> => (wrapper.broken ? Promise.reject(new Error('cache down (test)')) : work());
  const wrapper = {
    broken: false,
    get: (key: string) => guard(() => inner.get(key)),
    set: (key: string, value: string, ttlSeconds?: number) => guard(() => inner.set(key, value, ttlSeconds)),
    del: (key: string) => guard(() => inner.del(key)),
    getVersioned: (key: string) => guard(() => inner.getVersioned(key)),
    setVersioned: (key: string, version: bigint, fields: Record<string, string>) => guard(() => inner.setVersioned(key, version, fields)),
    setVersionedMany: (writes: readonly VersionedWrite[]) => guard(() => inner.setVersionedMany(writes)),
    ping: () => (wrapper.broken ? Promise.resolve(false) : inner.ping()),
    close: () => inner.close(),
  };
  return wrapper;
}

export interface BalanceBody {
  accountId: string;
  currency: string;
  posted: string;
  pending: string;
  available: string;
  overdraftLimit: string;
  sequence: string;
  updatedAt: string;
}

export async function readBalance(app: App, accountId: string, token: string | undefined) {
  const response = await app.inject({
    method: 'GET',
    url: `/v1/accounts/${accountId}/balance`,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), body: response.json<BalanceBody & { code?: string }>() };
}

/** Polls the operator's view until the account has reached `sequence`. */
export async function untilSequence(app: App, operatorToken: string, accountId: string, sequence: bigint, timeoutMs = 15_000): Promise<BalanceBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await readBalance(app, accountId, operatorToken);
    if (status === 200 && BigInt(body.sequence) >= sequence) return body;
    if (Date.now() > deadline) throw new Error(`account ${accountId} did not reach sequence ${sequence} (last: ${status} ${JSON.stringify(body)})`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Samples of one metric from the service's /metrics, by their label set (`{le="0.05",service="balance"}`). */
export async function metricSamples(app: App, name: string): Promise<Map<string, number>> {
  const response = await app.inject({ method: 'GET', url: '/metrics' });
  const samples = new Map<string, number>();
  for (const line of response.body.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name) samples.set(match[2] ?? '', Number(match[3]));
  }
  return samples;
}

/** The one sample of a metric without labels of its own (the registry adds `service`). */
export async function metricValue(app: App, name: string): Promise<number> {
  const samples = [...(await metricSamples(app, name)).values()];
  return samples.reduce((sum, value) => sum + value, 0);
}

/** The q-quantile of a histogram, interpolated linearly inside its bucket (as Prometheus' histogram_quantile). */
export async function histogramQuantile(app: App, name: string, q: number): Promise<number> {
  const buckets = [...(await metricSamples(app, `${name}_bucket`)).entries()]
    .map(([labels, count]) => ({ le: Number(/le="([^"]+)"/.exec(labels)?.[1] ?? 'NaN'), count }))
    .sort((a, b) => a.le - b.le);
  const rank = q * (buckets.at(-1)?.count ?? 0);
  const i = buckets.findIndex((b) => b.count >= rank);
  const bucket = buckets[i];
  if (!bucket) return Number.NaN;
  const below = buckets[i - 1] ?? { le: 0, count: 0 };
  if (!Number.isFinite(bucket.le)) return below.le;
  return below.le + ((bucket.le - below.le) * (rank - below.count)) / Math.max(1, bucket.count - below.count);
}
