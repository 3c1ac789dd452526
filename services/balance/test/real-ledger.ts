// The balance service beside a real ledger: the transaction service in this process (its own test
// stack: real PostgreSQL and RabbitMQ, the account and alias services stood in for), listening on a
// port, and the balance service on the same database, broker namespace and Redis. For the drift
// check and the rebuild, which read the ledger's internal balance routes.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { clientCredentials, createServiceClient } from '@wallet/kit';
import { startLedgerStack, type LedgerStack } from '../../transaction/test/support/ledger-stack.ts';
import { createBalanceService, type BalanceService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLedgerClient, type LedgerReader } from '../src/events/ledger-client.ts';

export interface LedgerAndBalance {
  ledger: LedgerStack;
  /** Where the transaction service listens. */
  ledgerUrl: string;
  balance: BalanceService;
  /** The environment the balance service was started with (for the rebuild command). */
  env: Record<string, string>;
  /** A client of the ledger's internal routes, as the balance service has. */
  reader: LedgerReader;
  operator: string;
  /** Opens a user account in the stand-in account service; the ledger learns of it on its first movement. */
  open(): { id: string; ownerId: string };
  deposit(accountId: string, amount: bigint): Promise<void>;
  transfer(from: { id: string; ownerId: string }, toAccountId: string, amount: bigint): Promise<void>;
  /** A pending hold of `amount` on `from` (available down, pending up). */
  hold(from: { id: string; ownerId: string }, toAccountId: string, amount: bigint): Promise<void>;
  /** Waits until every account of the ledger is projected at its current sequence. */
  settled(timeoutMs?: number): Promise<void>;
  /** Every difference between the projection (rows and history) and the ledger; empty when they agree. */
  differences(): Promise<string[]>;
  /** Deletes every cached balance of this namespace (Redis came back empty). */
  flushCache(): Promise<number>;
  stop(): Promise<void>;
}

export async function startLedgerAndBalance(extraEnv: Record<string, string> = {}): Promise<LedgerAndBalance> {
  const ledger = await startLedgerStack();
  await ledger.service.app.listen({ host: '127.0.0.1', port: 0 });
  const ledgerUrl = `http://127.0.0.1:${(ledger.service.app.server.address() as AddressInfo).port}`;
  const env = { ...ledger.infra.env, ...ledger.issuer.env, TRANSACTION_URL: ledgerUrl, BALANCE_DRIFT_CHECK_INTERVAL_MS: '0', ...extraEnv } as Record<string, string>;
  const balance = await createBalanceService(loadConfig(env), ledger.infra);
  await balance.app.ready();
  await balance.start();
  const { db } = ledger.infra;
  const reader = createLedgerClient(
    createServiceClient({ name: 'transaction', baseUrl: ledgerUrl, tokens: clientCredentials(`${ledger.issuer.url}/v1/auth/token`, 'svc-balance', env.INTERNAL_CLIENT_SECRET!) }),
  );
  const expect201 = (what: string, response: { status: number; body: unknown }) => {
    if (response.status !== 201) throw new Error(`${what}: ${response.status} ${JSON.stringify(response.body)}`);
  };

  const differences = async () => {
    const { rows: accounts } = await db.query<{ id: string; problem: string | null }>(
      `SELECT coalesce(a.id, b.account_id) AS id,
              CASE WHEN b.account_id IS NULL THEN 'no projection'
                   WHEN a.id IS NULL THEN 'unknown to the ledger'
                   WHEN (a.balance, a.pending, a.sequence, a.currency) IS DISTINCT FROM (b.available, b.pending, b.sequence, b.currency)
                     THEN format('projected %s/%s@%s %s, ledger %s/%s@%s %s', b.available, b.pending, b.sequence, b.currency, a.balance, a.pending, a.sequence, a.currency)
              END AS problem
       FROM ledger.accounts a FULL JOIN balance.balances b ON b.account_id = a.id`,
    );
    const { rows: entries } = await db.query<{ id: string; sequence: bigint; problem: string }>(
      `SELECT coalesce(l.account_id, h.account_id) AS id, coalesce(l.sequence, h.sequence) AS sequence,
              CASE WHEN h.account_id IS NULL THEN 'missing from the history' WHEN l.account_id IS NULL THEN 'not in the ledger'
                   ELSE format('history %s→%s/%s, ledger %s→%s/%s', h.amount, h.balance_after, h.pending_after, l.amount, l.balance_after, l.pending_after) END AS problem
       FROM ledger.entries l FULL JOIN balance.entries h ON h.account_id = l.account_id AND h.sequence = l.sequence
       WHERE h.account_id IS NULL OR l.account_id IS NULL
          OR (h.amount, h.balance_after, h.pending_amount, h.pending_after, h.transfer_id) IS DISTINCT FROM (l.amount, l.balance_after, l.pending_amount, l.pending_after, l.transfer_id)`,
    );
    return [...accounts.filter((a) => a.problem !== null).map((a) => `${a.id}: ${a.problem}`), ...entries.map((e) => `${e.id}#${e.sequence}: ${e.problem}`)];
  };

  return {
    ledger,
    ledgerUrl,
    balance,
    env,
    reader,
    operator: ledger.operator,
    open: () => {
      const account = ledger.openAccount(randomUUID());
      return { id: account.id, ownerId: account.ownerId };
    },
    deposit: async (accountId, amount) => expect201('deposit', await ledger.deposit(accountId, amount.toString())),
    async transfer(from, toAccountId, amount) {
      const token = await ledger.issuer.userToken(from.ownerId);
      expect201('transfer', await ledger.call('POST', '/v1/transfers', token, { fromAccountId: from.id, to: { accountId: toAccountId }, amount: amount.toString(), currency: 'USD' }, randomUUID()));
    },
    async hold(from, toAccountId, amount) {
      const token = await ledger.issuer.userToken(from.ownerId);
      expect201('hold', await ledger.call('POST', '/v1/holds', token, { fromAccountId: from.id, to: { accountId: toAccountId }, amount: amount.toString(), currency: 'USD' }, randomUUID()));
    },
    async settled(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await db.query<{ behind: bigint }>(
          `SELECT count(*)::bigint AS behind FROM ledger.accounts a LEFT JOIN balance.balances b ON b.account_id = a.id
           WHERE a.sequence > 0 AND (b.account_id IS NULL OR b.sequence < a.sequence)`,
        );
        if (rows[0]!.behind === 0n) return;
        if (Date.now() > deadline) throw new Error(`${rows[0]!.behind} accounts are still behind the ledger`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    differences,
    async flushCache() {
      // The namespace's client prefixes the keys it is given, not the ones SCAN returns.
      const redis = ledger.infra.cache.redis!;
      const prefix = `${ledger.infra.namespace}:`;
      let deleted = 0;
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}balance:*`, 'COUNT', 1000);
        if (keys.length > 0) deleted += await redis.del(...keys.map((key) => key.slice(prefix.length)));
        cursor = next;
      } while (cursor !== '0');
      return deleted;
    },
    async stop() {
      await balance.stop();
      await ledger.stop();
    },
  };
}
