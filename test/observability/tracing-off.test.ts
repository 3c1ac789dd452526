// Tracing is off unless an OTLP endpoint is configured: no spans, no traceparent added anywhere.
// The same service, with an endpoint, traces the same calls (so the first test can fail).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ConfigError, createMemoryBus, createService, createServiceClient, currentTraceCarrier, envelope, startTracing, tracingConfig, tracingEnabled, type EventEnvelope } from '@wallet/kit';
import { startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.ts';

const quiet = { warn() {}, error() {} };

/** A service whose one route calls another over HTTP and publishes an event on the memory bus. */
async function probeService(echoUrl: string) {
  const bus = createMemoryBus(quiet);
  const received: EventEnvelope[] = [];
  let consumed!: () => void;
  const delivered = new Promise<void>((resolve) => (consumed = resolve));
  await bus.subscribe({ queue: 'probe', topics: ['probe.*'], handler: async (event) => void (received.push(event), consumed()) });
  const { app } = await createService({ name: 'probe', logLevel: 'silent' });
  const client = createServiceClient({ name: 'echo', baseUrl: echoUrl });
  app.get('/call', async () => {
    await client.get('/echo');
    await bus.publish([envelope('probe', 'probe.called', {})]);
    return { carrier: currentTraceCarrier() ?? null };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, received, delivered };
}

describe('tracing off and on', () => {
  let receiver: OtlpReceiver;
  let echo: ReturnType<typeof createServer>;
  let echoUrl: string;
  const seen: IncomingHttpHeaders[] = [];
  before(async () => {
    receiver = await startOtlpReceiver();
    echo = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
  });
  after(async () => {
    await receiver.close();
    await new Promise((resolve) => echo.close(resolve));
  });

  const traceId = randomBytes(16).toString('hex');
  const incoming = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;

  test('without an endpoint: no provider, no spans, no traceparent on calls or events', async () => {
    const config = tracingConfig({ OTEL_SERVICE_NAME: 'probe', OTEL_TRACES_SAMPLER_ARG: '1' });
    assert.equal(config.tracesUrl, undefined);
    const tracing = startTracing(config, 'probe');
    assert.equal(tracingEnabled(), false);
    const probe = await probeService(echoUrl);
    assert.deepEqual([probe.app.server.headersTimeout, probe.app.server.requestTimeout, probe.app.server.timeout], [10_000, 30_000, 30_000]);
    try {
      const response = await fetch(`${probe.url}/call`, { headers: { traceparent: incoming } });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { carrier: null });
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.traceparent, undefined, 'no traceparent added to a service call');
      await probe.delivered;
      assert.equal(probe.received[0]!.traceparent, undefined, 'no trace context in the event');
    } finally {
      await probe.app.close();
      await tracing.shutdown();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(receiver.spans, []);
  });

  test('with an endpoint: the same calls make a server, a client, a producer and a consumer span', async () => {
    const tracing = startTracing(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/` }), 'probe');
    assert.equal(tracingEnabled(), true);
    const probe = await probeService(echoUrl);
    // The traced server is built like Fastify's own: the same deadlines against slow clients.
    assert.deepEqual([probe.app.server.headersTimeout, probe.app.server.requestTimeout, probe.app.server.timeout], [10_000, 30_000, 30_000]);
    try {
      const response = await fetch(`${probe.url}/call`, { headers: { traceparent: incoming } });
      assert.equal(response.status, 200);
      const { carrier } = (await response.json()) as { carrier: { traceparent: string } };
      assert.equal(carrier.traceparent.split('-')[1], traceId, "the handler runs in the caller's trace");
      assert.equal(String(seen[1]!.traceparent).split('-')[1], traceId, 'the service call carries the trace');
      await probe.delivered;
      assert.equal(probe.received[0]!.traceparent, undefined, 'the memory bus hands the context over beside the event');
    } finally {
      await probe.app.close();
      await tracing.shutdown(); // flushes the batch
    }
    assert.equal(tracingEnabled(), false);
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const named = (name: string) => spans.find((s) => s.name === name);
    assert.deepEqual(new Set(spans.map((s) => s.service)), new Set(['probe']));
    const server = named('GET /call');
    const client = named('GET echo');
    const publish = named('publish probe.called');
    const process = named('process probe');
    assert.ok(server && client && publish && process, `spans: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(server.parentSpanId, incoming.split('-')[2]);
    assert.deepEqual([client.parentSpanId, publish.parentSpanId, process.parentSpanId], [server.spanId, server.spanId, publish.spanId]);
    assert.deepEqual([server.kind, client.kind, publish.kind, process.kind], [2, 3, 4, 5]);
    assert.equal(server.attributes['http.route'], '/call');
    assert.equal(client.attributes['http.response.status_code'], 200);
  });

  test('settings are checked at start like every other setting', () => {
    assert.equal(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracesUrl, 'http://collector:4318/v1/traces');
    assert.equal(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://t.example/otlp/traces' }).tracesUrl, 'https://t.example/otlp/traces');
    assert.equal(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).tracesUrl, undefined);
    assert.equal(tracingConfig({ OTEL_TRACES_SAMPLER_ARG: '0.25' }).sampleRatio, 0.25);
    const bad: Record<string, string>[] = [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'ftp://c/v1/traces' },
      { OTEL_TRACES_SAMPLER_ARG: '1.5' },
      { OTEL_TRACES_SAMPLER_ARG: 'half' },
      { OTEL_TRACES_SAMPLER: 'jaeger_remote' },
      { OTEL_SDK_DISABLED: 'maybe' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
    ];
    for (const env of bad) assert.throws(() => tracingConfig(env), ConfigError, JSON.stringify(env));
  });
});
