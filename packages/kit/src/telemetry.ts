// Tracing with OpenTelemetry, instrumented by hand (auto-instrumentation hooks are fragile under ESM
// and tsx). Off unless an OTLP endpoint is configured: no provider is registered and every helper
// here returns at once, so an untraced service pays one boolean test per call.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Link, type Span, type SpanOptions } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler, type Sampler } from '@opentelemetry/sdk-trace-node';
import { ConfigError, type Env } from './config.ts';

export { SpanKind } from '@opentelemetry/api';

const samplers = ['parentbased_traceidratio', 'traceidratio', 'parentbased_always_on', 'always_on', 'parentbased_always_off', 'always_off'] as const;

export interface TracingConfig {
  /** Where spans go (OTLP/HTTP, JSON); undefined: tracing off. */
  tracesUrl: string | undefined;
  /** OTEL_SERVICE_NAME; undefined: the service's own name. */
  serviceName: string | undefined;
  sampler: (typeof samplers)[number];
  /** OTEL_TRACES_SAMPLER_ARG: the share of new traces kept, 0 to 1 (ratio samplers). */
  sampleRatio: number;
}

/** The standard OpenTelemetry settings this project reads, checked like every other setting. */
export function tracingConfig(env: Env): TracingConfig {
  const blank = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]!.trim());
  const url = (name: string, value: string) => {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ConfigError(`${name} must be an http(s) URL, got "${value}"`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ConfigError(`${name} must be an http(s) URL, got "${value}"`);
    return parsed;
  };
  const disabled = blank('OTEL_SDK_DISABLED');
  if (disabled !== undefined && !['true', 'false'].includes(disabled)) throw new ConfigError(`OTEL_SDK_DISABLED must be true or false, got "${disabled}"`);
  const tracesEndpoint = blank('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const endpoint = blank('OTEL_EXPORTER_OTLP_ENDPOINT');
  // The signal-specific URL is used as is; the general one gets /v1/traces appended (the OTel rule).
  let tracesUrl: string | undefined;
  if (tracesEndpoint) tracesUrl = url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint).toString();
  else if (endpoint) tracesUrl = `${url('OTEL_EXPORTER_OTLP_ENDPOINT', endpoint).toString().replace(/\/+$/, '')}/v1/traces`;
  const protocol = blank('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? blank('OTEL_EXPORTER_OTLP_PROTOCOL');
  if (tracesUrl && protocol !== undefined && protocol !== 'http/json') {
    throw new ConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL: only http/json is supported, got "${protocol}"`);
  }
  const sampler = blank('OTEL_TRACES_SAMPLER') ?? 'parentbased_traceidratio';
  if (!(samplers as readonly string[]).includes(sampler)) throw new ConfigError(`OTEL_TRACES_SAMPLER must be one of ${samplers.join(', ')}, got "${sampler}"`);
  const ratioRaw = blank('OTEL_TRACES_SAMPLER_ARG');
  const sampleRatio = ratioRaw === undefined ? 1 : Number(ratioRaw);
  if (!Number.isFinite(sampleRatio) || sampleRatio < 0 || sampleRatio > 1) {
    throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got "${ratioRaw}"`);
  }
  return { tracesUrl: disabled === 'true' ? undefined : tracesUrl, serviceName: blank('OTEL_SERVICE_NAME'), sampler: sampler as TracingConfig['sampler'], sampleRatio };
}

function samplerOf(config: TracingConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.sampleRatio);
  switch (config.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    default:
      return new ParentBasedSampler({ root: ratio });
  }
}

let enabled = false;
const tracer = () => trace.getTracer('wallet');

export interface Tracing {
  /** Exports what is still buffered, then stops (call after the service has drained). */
  shutdown(): Promise<void>;
}

/** Registers the process's tracer provider when an endpoint is configured; a no-op otherwise. */
export function startTracing(config: TracingConfig, serviceName: string): Tracing {
  if (!config.tracesUrl || enabled) return { shutdown: async () => undefined };
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName ?? serviceName }),
    sampler: samplerOf(config),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }))],
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  enabled = true;
  return {
    async shutdown() {
      await provider.shutdown().catch(() => undefined);
      trace.disable();
      context.disable();
      propagation.disable();
      enabled = false;
    },
  };
}

export function tracingEnabled(): boolean {
  return enabled;
}

/** W3C trace context as it travels in headers, message headers and event envelopes. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/** The active span's context as a carrier; undefined when tracing is off or nothing is active. */
export function currentTraceCarrier(active: Context = context.active()): TraceCarrier | undefined {
  if (!enabled || !trace.getSpan(active)) return undefined;
  const carrier: TraceCarrier = {};
  propagation.inject(active, carrier);
  return carrier.traceparent ? carrier : undefined;
}

/** Adds traceparent (and tracestate) of the active span to outgoing headers; returns them. */
export function injectTraceHeaders<H extends Record<string, unknown>>(headers: H): H {
  if (enabled) propagation.inject(context.active(), headers);
  return headers;
}

/** The context a carrier names (the root context when it names none). */
export function contextFromCarrier(carrier: TraceCarrier | Record<string, unknown> | undefined): Context {
  if (!enabled || !carrier) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier, {
    get: (c, key) => {
      const value = (c as Record<string, unknown>)[key];
      return typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
    },
    keys: (c) => Object.keys(c),
  });
}

/** A link to the span a carrier names, if any (for work that serves several traces at once). */
export function linkTo(carrier: TraceCarrier | undefined): Link[] {
  const span = trace.getSpan(contextFromCarrier(carrier));
  return span ? [{ context: span.spanContext() }] : [];
}

/**
 * Runs fn in a new span (child of `parent`, else of the active context), ending it when fn settles
 * and marking it failed if fn throws. With tracing off, just runs fn.
 */
export async function withSpan<T>(name: string, options: SpanOptions & { parent?: Context }, fn: (span: Span | undefined) => Promise<T>): Promise<T> {
  if (!enabled) return fn(undefined);
  const { parent, ...spanOptions } = options;
  const span = tracer().startSpan(name, spanOptions, parent ?? context.active());
  try {
    return await context.with(trace.setSpan(parent ?? context.active(), span), () => fn(span));
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
    throw error;
  } finally {
    span.end();
  }
}

/** Runs fn outside any trace: background work started from a request must not join its trace. */
export function outsideTraces<T>(fn: () => T): T {
  return enabled ? context.with(ROOT_CONTEXT, fn) : fn();
}

/** A span for something instantaneous (an in-process hand-over); returns its context as a carrier. */
export function instantSpan(name: string, options: SpanOptions & { parent?: Context }): TraceCarrier | undefined {
  if (!enabled) return undefined;
  const { parent, ...spanOptions } = options;
  const span = tracer().startSpan(name, spanOptions, parent ?? context.active());
  span.end();
  return currentTraceCarrier(trace.setSpan(parent ?? context.active(), span));
}

/** Fields every log line gets while a span is active (the pino mixin). */
export function logTraceFields(): { trace_id?: string; span_id?: string } {
  if (!enabled) return {};
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

const serverSpans = new WeakMap<IncomingMessage, Span>();

/**
 * Wraps an HTTP server's request listener: one SERVER span per request, child of the caller's
 * traceparent, active while the request is handled and ended when the response closes.
 */
export function traceRequests(listener: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!enabled) return listener(req, res);
    const parent = contextFromCarrier(req.headers);
    const span = tracer().startSpan(req.method ?? 'HTTP', { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? '', 'url.path': (req.url ?? '').split('?')[0] } }, parent);
    serverSpans.set(req, span);
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500 || !res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), () => listener(req, res));
  };
}

/** Names a request's server span after its route template and notes the request id; returns its trace id. */
export function describeServerSpan(req: IncomingMessage, route: string, requestId: string): string | undefined {
  const span = serverSpans.get(req);
  if (!span) return undefined;
  span.updateName(`${req.method} ${route}`);
  span.setAttributes({ 'http.route': route, 'wallet.request_id': requestId });
  return span.spanContext().traceId;
}

/** The trace id of a request's server span, if it is traced. */
export function requestTraceId(req: IncomingMessage): string | undefined {
  return serverSpans.get(req)?.spanContext().traceId;
}
