// Embedded mode traces too: one process, the memory bus, the same spans and the same context hand-over.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { WalletClient, until } from '../support/client.ts';
import { startEmbeddedStack, type Stack } from '../support/stack.ts';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.ts';

describe('tracing in embedded mode', () => {
  let receiver: OtlpReceiver;
  let stack: Stack;
  before(async () => {
    receiver = await startOtlpReceiver();
    process.env.OTEL_BSP_SCHEDULE_DELAY = '200';
    stack = await startEmbeddedStack({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
  });
  after(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  test('a transfer is one trace down to the balance consumer', async () => {
    const tag = randomBytes(3).toString('hex');
    const ana = new WalletClient(stack.gatewayUrl);
    const bob = new WalletClient(stack.gatewayUrl);
    const operator = new WalletClient(stack.gatewayUrl);
    await ana.signUp(`ana_${tag}`, 'Ana Pereira');
    await bob.signUp(`bob_${tag}`, 'Bob Marley');
    const from = await ana.openAccount('USD');
    const to = await bob.openAccount('USD');
    assert.equal((await operator.loginClient(stack.operator.id, stack.operator.secret)).status, 200);
    assert.equal((await operator.deposit(from, '10000')).status, 201);
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const sent = await ana.post('/v1/transfers', { fromAccountId: from, to: { accountId: to }, amount: '2500', currency: 'USD' }, { 'idempotency-key': randomUUID(), traceparent: `00-${traceId}-${callerSpanId}-01` });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    // All spans come from one process named "wallet"; the consumer's ancestors reach the caller's span.
    const complete = () => {
      const spans = new Map(receiver.spans.filter((s) => s.traceId === traceId).map((s) => [s.spanId, s]));
      let span = [...spans.values()].find((s) => s.kind === 5 && s.attributes['wallet.event.type'] === 'transaction.created' && /balance\.p\d+$/.test(String(s.attributes['messaging.destination.name'])));
      const chain = [];
      while (span) {
        chain.push(span);
        span = spans.get(span.parentSpanId);
      }
      return chain.at(-1)?.parentSpanId === callerSpanId ? chain : undefined;
    };
    const chain = await until(async () => complete(), 'the embedded trace down to the balance consumer');
    assert.deepEqual(new Set(chain.map((s) => s.service)), new Set(['wallet']));
    assert.deepEqual(chain.at(-1)!.name, 'POST /v1/transfers');
    assert.ok(chain.some((s) => s.kind === 2 && s !== chain.at(-1)), `a second server span (the transaction service behind the gateway): ${chain.map((s) => s.name).join(' <- ')}`);
  });
});
