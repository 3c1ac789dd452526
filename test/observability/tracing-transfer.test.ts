// One transfer through the gateway is one trace, from the gateway through the transaction service
// (and its outbox) to the balance service's consumer, exported over OTLP/HTTP by five real processes.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { needsInfra } from '@wallet/testkit';
import { WalletClient, until } from '../support/client.ts';
import { startRealStack, type Stack } from '../support/stack.ts';
import { captureLogs, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';

const SERVER = 2;
const PRODUCER = 4;
const CONSUMER = 5;

describe('tracing across the real stack', await needsInfra(), () => {
  let receiver: OtlpReceiver;
  let stack: Stack;
  const logs = captureLogs();
  before(async () => {
    receiver = await startOtlpReceiver();
    stack = await startRealStack(
      { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '200', LOG_LEVEL: 'info' },
      { onOutput: logs.onOutput },
    );
  });
  after(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  let ana: WalletClient;
  let bob: WalletClient;
  let from: string;
  let to: string;
  let tag: string;
  const inTrace = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
  const isBalanceApply = (s: ReceivedSpan) => s.service === 'balance' && s.kind === CONSUMER && s.attributes['wallet.event.type'] === 'transaction.created' && !String(s.attributes['messaging.destination.name']).endsWith('balance.router');
  const newTrace = () => ({ traceId: randomBytes(16).toString('hex'), callerSpanId: randomBytes(8).toString('hex') });
  const transfer = (amount: string, t: { traceId: string; callerSpanId: string }, requestId: string) =>
    ana.post('/v1/transfers', { fromAccountId: from, to: { accountId: to }, amount, currency: 'USD' }, { 'idempotency-key': randomUUID(), traceparent: `00-${t.traceId}-${t.callerSpanId}-01`, 'x-request-id': requestId });

  /** The trace's spans once its balance consumer span has arrived; asserts they form one tree under the caller's span. */
  const treeOf = async (t: { traceId: string; callerSpanId: string }) => {
    // Complete once the consumer's ancestors reach the caller's span (services export on their own schedules).
    const complete = () => {
      const spans = new Map(inTrace(t.traceId).map((s) => [s.spanId, s]));
      let span = [...spans.values()].find(isBalanceApply);
      while (span && spans.has(span.parentSpanId)) span = spans.get(span.parentSpanId);
      return span?.parentSpanId === t.callerSpanId && [...spans.values()].some((s) => s.service === 'transaction' && s.kind === SERVER);
    };
    await until(async () => (complete() ? true : undefined), 'the trace of the transfer to be exported, down to the balance consumer');
    const trace = inTrace(t.traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    assert.equal(byId.size, trace.length, 'span ids are unique');
    const roots = trace.filter((s) => !byId.has(s.parentSpanId));
    assert.deepEqual(roots.map((s) => [s.service, s.name, s.parentSpanId]), [['gateway', 'POST /v1/transfers', t.callerSpanId]]);
    const path = (span: ReceivedSpan) => {
      const chain = [span];
      while (byId.has(chain.at(-1)!.parentSpanId)) chain.push(byId.get(chain.at(-1)!.parentSpanId)!);
      return chain;
    };
    const transaction = trace.find((s) => s.service === 'transaction' && s.kind === SERVER && s.name === 'POST /v1/transfers');
    assert.ok(transaction, 'the transaction service has a server span for the transfer');
    assert.equal(transaction.parentSpanId, roots[0]!.spanId, "the transaction service's span is the gateway's child");
    const apply = trace.find(isBalanceApply)!;
    const chain = path(apply);
    assert.ok(chain.includes(transaction), `the consumer descends from the transaction request: ${chain.map((s) => `${s.service}:${s.name}`).join(' <- ')}`);
    return { trace, byId, gateway: roots[0]!, transaction, apply };
  };

  before(async () => {
    tag = randomBytes(3).toString('hex');
    ana = new WalletClient(stack.gatewayUrl);
    bob = new WalletClient(stack.gatewayUrl);
    const operator = new WalletClient(stack.gatewayUrl);
    await ana.signUp(`ana_${tag}`, 'Ana Pereira');
    await bob.signUp(`bob_${tag}`, 'Bob Marley');
    from = await ana.openAccount('USD');
    to = await bob.openAccount('USD');
    assert.equal((await operator.loginClient(stack.operator.id, stack.operator.secret)).status, 200);
    assert.equal((await operator.deposit(from, '10000')).status, 201);
    // Settled before the first test, so that its transfer's event travels alone (one message, one producer).
    await until(async () => {
      const r = await ana.balance(from);
      return r.status === 200 && r.body.available === '10000' ? true : undefined;
    }, 'the deposit to reach the balance service');
  });

  test('a transfer is one trace: gateway, transaction, the outbox relay and the balance consumer', async () => {
    // The caller starts the trace: its traceparent names the trace and the parent of the gateway's span.
    const t = newTrace();
    const traceId = t.traceId;
    const requestId = `transfer-${tag}`;
    const sent = await transfer('2500', t, requestId);
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const { trace, byId, gateway, transaction, apply } = await treeOf(t);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the rest of the trace's batches
    assert.deepEqual(receiver.rejected, []);
    assert.deepEqual([...new Set(trace.map((s) => s.service))].filter((s) => ['gateway', 'transaction', 'balance'].includes(s)).sort(), ['balance', 'gateway', 'transaction']);
    assert.equal(gateway.kind, SERVER);
    assert.equal(gateway.attributes['wallet.request_id'], requestId);
    assert.equal(gateway.attributes['http.response.status_code'], 201);
    assert.equal(transaction.attributes['wallet.request_id'], requestId);
    // Alone, the event travels in a message of its own: the consumer is the child of its producer.
    assert.equal(byId.get(apply.parentSpanId)?.kind, PRODUCER, 'a consumer span is the child of the message it received');
    const relay = trace.find((s) => s.service === 'transaction' && s.kind === PRODUCER && s.name === 'publish transaction.created');
    assert.ok(relay, 'the outbox relay published the event in the same trace');
    assert.equal(relay.parentSpanId, transaction.spanId, 'the relay publishes with the context the event was written with');

    // The group commit serves many requests: its own trace, linked to this one.
    const commit = receiver.spans.find((s) => s.service === 'transaction' && s.name === 'ledger.commit' && s.links.some((l) => l.traceId === traceId));
    assert.ok(commit, 'a ledger.commit span links to the transfer');

    // The transaction service's request line for the transfer carries the request id and the trace id.
    const line = logs.lines.find((l) => l.service === 'transaction' && l.json?.msg === 'request' && l.json.reqId === requestId && l.json.route === '/v1/transfers');
    assert.ok(line, 'the transaction service logged the transfer request');
    assert.equal(line.json!.trace_id, traceId);
    assert.equal(line.json!.status, 201);
  });

  test('concurrent transfers committed together each keep their own trace', async () => {
    // Sent at once, they share group commits and outbox batches; each event still carries its request's trace.
    const traces = Array.from({ length: 12 }, newTrace);
    const sent = await Promise.all(traces.map((t, i) => transfer('1', t, `burst-${tag}-${i}`)));
    for (const r of sent) assert.equal(r.status, 201, JSON.stringify(r.body));
    for (const t of traces) await treeOf(t);
    const ids = new Set(traces.map((t) => t.traceId));
    const shared = receiver.spans.filter((s) => s.name === 'ledger.commit' && s.links.filter((l) => ids.has(l.traceId)).length > 1);
    assert.ok(shared.length > 0, 'at least one group commit served several of these transfers (else this test proves little)');
  });
});
