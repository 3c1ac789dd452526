// Balance streams (SSE) and reads that wait for a sequence, on the real PostgreSQL, RabbitMQ and
// Redis, with two replicas: A consumes the events, B only serves HTTP and learns of A's commits
// through Redis pub/sub — as two processes would.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedisCache, envelope, type EventEnvelope } from '@wallet/kit';
import { eventTypes, type TransactionCreated } from '@wallet/contracts';
import { createTestInfra, eventually, needsInfra, redisUrl, startTestIssuer, type TestInfra, type TestIssuer } from '@wallet/testkit';
import { createBalanceService, type BalanceService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { findBalance } from '../src/store/balances.ts';
import { openSse, type SseStream } from './sse.ts';
import { accountOpened, limitsChanged, metricValue, settlementOpened, startFakeLedger, type BalanceBody, type FakeLedger } from './support.ts';

/** The stand-in ledger, plus GET /internal/accounts/{id}/balance as the transaction service answers it. */
async function startLedgerWithBalances(ledger: FakeLedger): Promise<{ url: string; balanceReads: () => number; close(): Promise<void> }> {
  let balanceReads = 0;
  const server: Server = createServer((req, res) => {
    const match = /^\/internal\/accounts\/([^/]+)\/balance$/.exec(req.url ?? '');
    if (!match) {
      // Everything else (the entry listings) as the stand-in answers it.
      void fetch(`${ledger.url}${req.url}`, { headers: { authorization: req.headers.authorization ?? '' } }).then(async (answer) => {
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(await answer.text());
      });
      return;
    }
    balanceReads++;
    const accountId = decodeURIComponent(match[1]!);
    if (ledger.sequenceOf(accountId) === 0n) {
      res.writeHead(404, { 'content-type': 'application/problem+json' }).end('{"code":"account_not_found"}');
      return;
    }
    const body = { accountId, currency: 'USD', balance: String(ledger.balanceOf(accountId)), pending: String(ledger.pendingOf(accountId)), sequence: String(ledger.sequenceOf(accountId)) };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    balanceReads: () => balanceReads,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('balance streams and read-your-writes, two replicas on real infrastructure', await needsInfra(), () => {
  let infra: TestInfra;
  let issuer: TestIssuer;
  let ledger: FakeLedger;
  let ledgerHttp: Awaited<ReturnType<typeof startLedgerWithBalances>>;
  let consuming: BalanceService; // A: consumes events; at most 2 streams
  let serving: BalanceService; // B: HTTP only, its own Redis connections
  let servingCache: ReturnType<typeof createRedisCache>;
  let operator: string;
  const streams: SseStream[] = [];
  let consumingStopped = false;

  const ana = randomUUID();
  const bob = randomUUID();
  const anaAccount = randomUUID();
  const bobAccount = randomUUID();
  const settlement = randomUUID();

  const publish = (...events: EventEnvelope[]) => infra.bus.publish(events);
  const created = (data: TransactionCreated) => envelope('transaction', eventTypes.transactionCreated, data);
  const baseUrl = (service: BalanceService) => `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
  const stream = async (service: BalanceService, accountId: string, token: string, lastEventId?: string) => {
    const opened = await openSse(`${baseUrl(service)}/v1/accounts/${accountId}/balance/stream`, {
      authorization: `Bearer ${token}`,
      ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
    });
    streams.push(opened);
    return opened;
  };
  const read = async (service: BalanceService, path: string, token: string) => {
    const response = await fetch(`${baseUrl(service)}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, source: response.headers.get('balance-source'), body: (await response.json()) as BalanceBody & { code?: string; sequence: string } };
  };
  const balanceOf = (data: string) => JSON.parse(data) as BalanceBody;

  before(async () => {
    infra = await createTestInfra();
    issuer = await startTestIssuer();
    ledger = await startFakeLedger();
    ledgerHttp = await startLedgerWithBalances(ledger);
    const env = { ...infra.env, ...issuer.env, TRANSACTION_URL: ledgerHttp.url, BALANCE_STREAM_HEARTBEAT_MS: '100', BALANCE_MIN_SEQUENCE_WAIT_MS: '400' };
    consuming = await createBalanceService(loadConfig({ ...env, BALANCE_STREAMS_MAX: '2' }), infra);
    await consuming.app.listen({ host: '127.0.0.1', port: 0 });

    await consuming.start();
    servingCache = createRedisCache(redisUrl, { warn: () => undefined }, infra.namespace);
    serving = await createBalanceService(loadConfig(env), { ...infra, cache: servingCache });
    await serving.app.listen({ host: '127.0.0.1', port: 0 });
    operator = await issuer.operatorToken();
    await eventually(
      async () => {
        await publish(envelope('account', eventTypes.accountOpened, settlementOpened(settlement)));
        await pause(200);
        return (await findBalance(infra.db, settlement)) ?? undefined;
      },
      15_000,
      'the consumer to bind its queue',
    );
    await publish(
      envelope('account', eventTypes.accountOpened, accountOpened(anaAccount, ana)),
      envelope('account', eventTypes.accountOpened, accountOpened(bobAccount, bob)),
      created(ledger.book(settlement, anaAccount, 10_000n, 'deposit')),
    );
    await eventually(async () => ((await findBalance(infra.db, anaAccount))?.sequence === 1n ? true : undefined), 10_000, 'the deposit');
  });

  after(async () => {
    for (const open of streams) open.close();
    await serving?.stop();
    if (!consumingStopped) await consuming?.stop();
    await servingCache?.close();
    await ledgerHttp?.close();
    await ledger?.close();
    await issuer?.close();
    await infra?.destroy();
  });

  test('a stream on the other replica: the balance first, then each change with its sequence, and heartbeats', async () => {
    const live = await stream(serving, anaAccount, await issuer.userToken(ana));
    assert.equal(live.status, 200);
    assert.match(live.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(live.headers.get('cache-control'), 'no-cache, no-transform');
    const [first] = await live.waitForEvents(1);
    assert.equal(first?.event, 'balance');
    assert.equal(first?.id, '1');
    assert.deepEqual({ ...balanceOf(first!.data), updatedAt: undefined }, {
      accountId: anaAccount,
      currency: 'USD',
      posted: '10000',
      pending: '0',
      available: '10000',
      overdraftLimit: '0',
      sequence: '1',
      updatedAt: undefined,
    });

    // Two transfers applied by replica A reach the stream served by B, one event per entry, in order.
    await publish(created(ledger.book(anaAccount, bobAccount, 2_500n)));
    await publish(created(ledger.book(anaAccount, bobAccount, 500n)));
    const events = await live.waitForEvents(3);
    assert.deepEqual(events.map((e) => e.id), ['1', '2', '3']);
    assert.deepEqual(events.map((e) => balanceOf(e.data).posted), ['10000', '7500', '7000']);
    assert.deepEqual(events.map((e) => balanceOf(e.data).sequence), ['1', '2', '3']);
    assert.ok(events.every((e) => e.event === 'balance'));
    await live.waitForComments(3); // the first comment, then heartbeats every 100 ms
    live.close();
  });

  test('Last-Event-ID resumes after that sequence: exactly the missed changes, no snapshot, then live ones', async () => {
    const token = await issuer.userToken(ana);
    // Missed while away: two more changes.
    await publish(created(ledger.book(anaAccount, bobAccount, 100n)));
    await publish(created(ledger.book(anaAccount, bobAccount, 200n)));
    await eventually(async () => ((await findBalance(infra.db, anaAccount))?.sequence === 5n ? true : undefined), 10_000, 'sequence 5');

    const resumed = await stream(serving, anaAccount, token, '3');
    const missed = await resumed.waitForEvents(2);
    assert.deepEqual(missed.map((e) => e.id), ['4', '5']);
    assert.deepEqual(missed.map((e) => balanceOf(e.data).posted), ['6900', '6700']);
    await publish(created(ledger.book(anaAccount, bobAccount, 300n)));
    const all = await resumed.waitForEvents(3);
    assert.deepEqual(all.map((e) => e.id), ['4', '5', '6']);
    assert.equal(balanceOf(all[2]!.data).posted, '6400');
    await pause(300);
    assert.equal(resumed.events.length, 3, 'nothing repeated');
    resumed.close();

    // Resuming at the current sequence sends nothing until the next change.
    const current = await stream(serving, anaAccount, token, '6');
    await current.waitForComments(2);
    assert.equal(current.events.length, 0);
    current.close();
  });

  test('a limits change alone sends nothing; the next change carries the new limit', async () => {
    const live = await stream(serving, bobAccount, await issuer.userToken(bob));
    const [snapshot] = await live.waitForEvents(1);
    const sequence = BigInt(snapshot!.id!);
    await publish(envelope('account', eventTypes.accountLimitsChanged, limitsChanged(bobAccount, bob, '1000')));
    await eventually(async () => ((await findBalance(infra.db, bobAccount))?.overdraftLimit === 1000n ? true : undefined), 10_000, 'the limit');
    await pause(200);
    assert.equal(live.events.length, 1);
    await publish(created(ledger.book(bobAccount, anaAccount, 100n)));
    const [, next] = await live.waitForEvents(2);
    assert.equal(next?.id, String(sequence + 1n));
    assert.equal(balanceOf(next!.data).overdraftLimit, '1000');
    assert.equal(balanceOf(next!.data).available, String(BigInt(balanceOf(next!.data).posted) + 1000n));
    live.close();
  });

  test('who may stream: the owner and operators; others, unknown and malformed ids 404; no token 401; bad Last-Event-ID 400', async () => {
    const operatorStream = await stream(serving, anaAccount, operator);
    assert.equal(operatorStream.status, 200);
    operatorStream.close();
    const bobToken = await issuer.userToken(bob);
    for (const id of [anaAccount, randomUUID(), 'not-an-id']) {
      const refused = await stream(serving, id, bobToken);
      assert.equal(refused.status, 404, id);
      assert.equal(refused.problem?.code, 'account_not_found');
    }
    const anonymous = await openSse(`${baseUrl(serving)}/v1/accounts/${anaAccount}/balance/stream`, {});
    assert.equal(anonymous.status, 401);
    for (const bad of ['x', '-1', '12345678901234567890']) {
      const refused = await stream(serving, anaAccount, await issuer.userToken(ana), bad);
      assert.equal(refused.status, 400, bad);
      assert.equal(refused.problem?.code, 'validation_failed');
    }
  });

  test('a stream outlives no token: it ends when the access token expires', async () => {
    const shortLived = await stream(serving, anaAccount, await issuer.userToken(ana, { expiresInSeconds: 1 }));
    assert.equal(shortLived.status, 200);
    const ended = await Promise.race([shortLived.ended.then(() => 'ended'), pause(4000).then(() => 'still open')]);
    assert.equal(ended, 'ended');
  });

  test('streams per process are bounded (503 too_many_streams); a client that leaves costs nothing', async () => {
    const token = await issuer.userToken(ana);
    await eventually(async () => ((await metricValue(consuming.app, 'balance_streams_open')) === 0 ? true : undefined), 5000, 'no streams on A');
    const one = await stream(consuming, anaAccount, token);
    const two = await stream(consuming, anaAccount, token);
    const three = await stream(consuming, anaAccount, token);
    assert.deepEqual([one.status, two.status, three.status], [200, 200, 503]);
    assert.equal(three.problem?.code, 'too_many_streams');
    assert.equal(three.headers.get('retry-after'), '5');
    assert.equal(await metricValue(consuming.app, 'balance_streams_open'), 2);
    assert.equal(await metricValue(consuming.app, 'balance_change_followers'), 2);

    one.close();
    two.close();
    await eventually(async () => ((await metricValue(consuming.app, 'balance_streams_open')) === 0 ? true : undefined), 5000, 'the streams to be released');
    assert.equal(await metricValue(consuming.app, 'balance_change_followers'), 0, 'nobody follows the account any more');
    const four = await stream(consuming, anaAccount, token);
    assert.equal(four.status, 200, 'room again');
    four.close();
  });

  test('minSequence: answered at once when reached, after waiting for the projection, or from the ledger; never older', async () => {
    const token = await issuer.userToken(ana);
    const path = (n: bigint | string) => `/v1/accounts/${anaAccount}/balance?minSequence=${n}`;
    const now = (await findBalance(infra.db, anaAccount))!.sequence;

    const reached = await read(serving, path(now), token);
    assert.deepEqual([reached.status, reached.source, reached.body.sequence], [200, 'projection', String(now)]);
    const plain = await read(serving, `/v1/accounts/${anaAccount}/balance`, token);
    assert.equal(plain.source, 'projection');

    // The next change arrives while the read waits: woken, it answers from the projection.
    const waiting = read(serving, path(now + 1n), token);
    await pause(100);
    await publish(created(ledger.book(anaAccount, bobAccount, 1n)));
    const woken = await waiting;
    assert.deepEqual([woken.status, woken.source, woken.body.sequence], [200, 'projection', String(now + 1n)]);

    // Booked in the ledger but never delivered here: past the wait, the ledger answers.
    const readsBefore = ledgerHttp.balanceReads();
    ledger.book(anaAccount, bobAccount, 10n);
    const started = Date.now();
    const fromLedger = await read(serving, path(now + 2n), token);
    assert.ok(Date.now() - started >= 350, 'it waited first');
    assert.deepEqual([fromLedger.status, fromLedger.source], [200, 'ledger']);
    assert.equal(fromLedger.body.sequence, String(now + 2n));
    assert.equal(fromLedger.body.posted, String(ledger.balanceOf(anaAccount)));
    assert.equal(fromLedger.body.available, String(ledger.balanceOf(anaAccount)));
    assert.equal(ledgerHttp.balanceReads(), readsBefore + 1);

    // Not even the ledger is there: refused, never an older balance.
    const ahead = await read(serving, path(now + 100n), token);
    assert.deepEqual([ahead.status, ahead.body.code, (ahead.body as unknown as { sequence: string }).sequence], [409, 'sequence_not_reached', String(now + 2n)]);

    // Validation, and nobody else learns anything (after the same wait as for an unknown account).
    for (const bad of ['x', '-1', '12345678901234567890', '1.5']) {
      const refused = await read(serving, path(bad), token);
      assert.deepEqual([refused.status, refused.body.code], [400, 'validation_failed'], bad);
    }
    const foreign = await read(serving, path(1n), await issuer.userToken(bob));
    assert.deepEqual([foreign.status, foreign.body.code], [404, 'account_not_found']);
    const unknown = await read(serving, `/v1/accounts/${randomUUID()}/balance?minSequence=1`, token);
    assert.equal(unknown.status, 404);

    // The gap is repaired from the ledger by the next delivered event; the projection catches up.
    await publish(created(ledger.book(anaAccount, bobAccount, 1n)));
    const caughtUp = await read(serving, path(now + 3n), token);
    assert.deepEqual([caughtUp.status, caughtUp.source], [200, 'projection']);
  });

  test('stopping a replica ends its open streams (clients reconnect elsewhere) and does not wait for them', async () => {
    const live = await stream(consuming, bobAccount, await issuer.userToken(bob));
    await live.waitForEvents(1);
    const started = Date.now();
    consumingStopped = true;
    const stopping = consuming.stop();
    await live.ended;
    assert.ok(Date.now() - started < 1000, 'the stream ended at once');
    await stopping;
    assert.ok(Date.now() - started < 5000);
  });
});
