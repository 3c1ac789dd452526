// The event bus: RabbitMQ in real mode, an in-process bus with the same interface in embedded mode.
// Delivery is at least once in both: consumers must be idempotent.
import { randomUUID } from 'node:crypto';
import { Connection, type AsyncMessage, type Consumer, type Publisher } from 'rabbitmq-client';
import { contextFromCarrier, currentTraceCarrier, injectTraceHeaders, instantSpan, linkTo, SpanKind, tracingEnabled, withSpan, type TraceCarrier } from './telemetry.ts';

export interface EventEnvelope<T = unknown> {
  id: string;
  type: string;
  source: string;
  occurredAt: string;
  data: T;
  /** W3C trace context of the work that produced the event (set when tracing is on), so its
   *  consumers continue that trace even though the outbox relay publishes it later. */
  traceparent?: string;
  tracestate?: string;
}

export type EventHandler = (event: EventEnvelope) => Promise<void>;

/**
 * Thrown by a handler for an event that can never be handled: the event goes to the dead-letter
 * queue at once, with the reason in the `x-wallet-reason` header, and the rest of the message is
 * still handled. Any other error retries the whole message, up to the delivery limit.
 */
export class DeadLetterError extends Error {
  override name = 'DeadLetterError';
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

export interface Subscription {
  /** Durable queue name, one per consuming service. */
  queue: string;
  /** Topic patterns (`account.*`, `transaction.created`). */
  topics: string[];
  handler: EventHandler;
  /** Called instead of `handler` with every event of one broker message at once (a router that republishes in bulk). */
  messageHandler?: (events: EventEnvelope[]) => Promise<void>;
  /** One consumer at a time receives (RabbitMQ's single active consumer); the others stand by and
   *  take over when it goes. Keeps one queue's order across replicas. */
  singleActiveConsumer?: boolean;
  /** Messages delivered ahead of acknowledgement. */
  prefetch?: number;
  /** Handler calls running at once (default 1: one after another). They start in delivery order,
   *  so a handler that feeds a batcher keeps the queue's order. */
  concurrency?: number;
}

export interface PublishOptions {
  /** Route by this key instead of each event's type (a partition's queue). */
  routingKey?: string;
}

/** One consumed queue as the broker sees it (`queue` without the namespace prefix). */
export interface QueueDepth {
  queue: string;
  /** Messages waiting to be delivered. */
  ready: number;
  consumers: number;
  /** Messages in its dead-letter queue. */
  deadLettered: number;
}

export interface Bus {
  /** Resolves once the broker has confirmed every event. */
  publish(events: readonly EventEnvelope[], options?: PublishOptions): Promise<void>;
  subscribe(subscription: Subscription): Promise<void>;
  /** Deletes a queue no longer used (a renamed one), if it exists; its messages are dropped. */
  retireQueue(queue: string): Promise<void>;
  ping(): Promise<boolean>;
  /** Every queue this process consumes, for the metrics (a passive declare each in RabbitMQ). */
  queueDepths(): Promise<QueueDepth[]>;
  close(): Promise<void>;
}

export const deliveryAttemptsMax = 5;
/** Consecutive events of one type travel together in one broker message, up to this many. */
export const eventsPerMessageMax = 200;
const EVENT_BATCH_TYPE = 'application/vnd.wallet.events+json';

/** Splits events into runs of one type (the routing key), in order, each at most `max` long. */
export function chunkByType(events: readonly EventEnvelope[], max: number): EventEnvelope[][] {
  const chunks: EventEnvelope[][] = [];
  for (const event of events) {
    const last = chunks.at(-1);
    if (last && last[0]!.type === event.type && last.length < max) last.push(event);
    else chunks.push([event]);
  }
  return chunks;
}

export function envelope<T>(source: string, type: string, data: T): EventEnvelope<T> {
  return { id: randomUUID(), type, source, occurredAt: new Date().toISOString(), data };
}

/** The trace an event belongs to: its own context, else the active one (the request that made it). */
export function eventTrace(event: EventEnvelope): TraceCarrier | undefined {
  return event.traceparent ? { traceparent: event.traceparent, tracestate: event.tracestate } : currentTraceCarrier();
}

/**
 * Publishes one broker message in a PRODUCER span, child of its first event's trace (links to the
 * others'); `send` gets the message headers with that span's traceparent.
 */
function publishSpan<T>(destination: string, chunk: readonly EventEnvelope[], send: (headers: Record<string, string>) => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return send({});
  const [first, ...rest] = chunk.map(eventTrace);
  const attributes = { 'messaging.system': 'rabbitmq', 'messaging.operation.type': 'publish', 'messaging.destination.name': destination, 'messaging.batch.message_count': chunk.length, 'messaging.message.id': chunk[0]!.id };
  return withSpan(`publish ${destination}`, { kind: SpanKind.PRODUCER, parent: first ? contextFromCarrier(first) : undefined, links: rest.flatMap(linkTo), attributes }, () => send(injectTraceHeaders({})));
}

/** The memory bus's hand-over, synchronous so that one publish call stays one uninterrupted run. */
function memoryPublishSpan(destination: string, event: EventEnvelope): TraceCarrier | undefined {
  const own = eventTrace(event);
  const attributes = { 'messaging.system': 'memory', 'messaging.operation.type': 'publish', 'messaging.destination.name': destination, 'messaging.message.id': event.id };
  return instantSpan(`publish ${destination}`, { kind: SpanKind.PRODUCER, parent: own ? contextFromCarrier(own) : undefined, attributes });
}

/**
 * Handles one event in a CONSUMER span. A message of one event continues the producer's span (the
 * message headers); an event of a bigger message continues its own trace, linked to the message.
 */
function consumeSpan<T>(queue: string, event: EventEnvelope, message: TraceCarrier | undefined, single: boolean, fn: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return fn();
  const own = event.traceparent ? { traceparent: event.traceparent, tracestate: event.tracestate } : undefined;
  const parent = single ? (message?.traceparent ? message : own) : (own ?? message);
  const attributes = { 'messaging.system': 'rabbitmq', 'messaging.operation.type': 'process', 'messaging.destination.name': queue, 'messaging.message.id': event.id, 'wallet.event.type': event.type };
  return withSpan(`process ${queue}`, { kind: SpanKind.CONSUMER, parent: contextFromCarrier(parent), links: parent === message ? [] : linkTo(message), attributes }, fn);
}

/** A whole message handled at once (the balance router): one CONSUMER span linked to each event's trace. */
function consumeMessageSpan<T>(queue: string, events: readonly EventEnvelope[], message: TraceCarrier | undefined, fn: () => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return fn();
  const parent = message?.traceparent ? message : eventTrace(events[0]!);
  const links = events.slice(0, 100).flatMap((e) => (e.traceparent ? linkTo({ traceparent: e.traceparent }) : []));
  const attributes = { 'messaging.system': 'rabbitmq', 'messaging.operation.type': 'process', 'messaging.destination.name': queue, 'messaging.batch.message_count': events.length };
  return withSpan(`process ${queue}`, { kind: SpanKind.CONSUMER, parent: contextFromCarrier(parent), links, attributes }, fn);
}

/** AMQP topic matching: `*` is one word, `#` is zero or more. */
export function topicMatches(pattern: string, key: string): boolean {
  const p = pattern.split('.');
  const k = key.split('.');
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === '#') return match(i + 1, j) || (j < k.length && match(i, j + 1));
    return j < k.length && (p[i] === '*' || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

interface Logger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RabbitBus extends Bus {
  /** Deletes this namespace's queues and exchanges (tests); `queues` names others' queues too. */
  destroy(queues?: readonly string[]): Promise<void>;
}

export function createRabbitBus(url: string, log: Logger, namespace = 'wallet'): RabbitBus {
  const EVENTS_EXCHANGE = `${namespace}.events`;
  const DEAD_LETTER_EXCHANGE = `${namespace}.dlx`;
  const declaredQueues: string[] = [];
  const consumedQueues: string[] = [];
  const connection = new Connection({ url, connectionName: namespace, retryLow: 200, retryHigh: 5000 });
  connection.on('error', (error) => log.warn({ err: error }, 'rabbitmq connection error'));
  const exchanges = [
    { exchange: EVENTS_EXCHANGE, type: 'topic', durable: true },
    { exchange: DEAD_LETTER_EXCHANGE, type: 'direct', durable: true },
  ];
  let publisher: Publisher | undefined;
  const consumers: Consumer[] = [];

  return {
    async publish(events, options = {}) {
      publisher ??= connection.createPublisher({ confirm: true, maxAttempts: 3, exchanges });
      const pub = publisher;
      // One message per run of same-type events: the broker, the relay and the consumers each
      // handle one message where they would handle hundreds.
      await Promise.all(
        chunkByType(events, eventsPerMessageMax).map((chunk) => {
          const routingKey = options.routingKey ?? chunk[0]!.type;
          return publishSpan(routingKey, chunk, (headers) =>
            pub.send(
              {
                exchange: EVENTS_EXCHANGE,
                routingKey,
                durable: true,
                messageId: chunk.length === 1 ? chunk[0]!.id : `${chunk[0]!.id}+${chunk.length}`,
                contentType: chunk.length === 1 ? 'application/json' : EVENT_BATCH_TYPE,
                type: chunk[0]!.type,
                headers,
              },
              chunk.length === 1 ? chunk[0] : chunk,
            ),
          );
        }),
      );
    },
    async subscribe({ queue: name, topics, handler, messageHandler, singleActiveConsumer = false, prefetch = 50, concurrency = 1 }) {
      const queue = `${namespace}.${name}`;
      const deadLetterQueue = `${queue}.dlq`;
      declaredQueues.push(queue, deadLetterQueue);
      if (!consumedQueues.includes(name)) consumedQueues.push(name);
      const consumer = connection.createConsumer(
        {
          queue,
          queueOptions: {
            durable: true,
            arguments: {
              'x-queue-type': 'quorum',
              // After this many deliveries a failing message goes to the dead-letter queue.
              'x-delivery-limit': deliveryAttemptsMax,
              'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE,
              'x-dead-letter-routing-key': deadLetterQueue,
              ...(singleActiveConsumer ? { 'x-single-active-consumer': true } : {}),
            },
          },
          qos: { prefetchCount: Math.max(prefetch, concurrency) },
          concurrency,
          exchanges,
          queueBindings: topics.map((routingKey) => ({ exchange: EVENTS_EXCHANGE, queue, routingKey })),
        },
        async (message: AsyncMessage) => {
          const events = parseMessage(message);
          if (!events) {
            log.error({ queue, messageId: message.messageId }, 'dropping malformed event to the dead-letter queue');
            return 2; // ConsumerStatus.DROP
          }
          // The message is acknowledged once every event in it is handled; if one fails, the whole
          // message comes back (handlers are idempotent) and, after the delivery limit, goes to the
          // dead-letter queue with the failing event in it. An event refused for good goes there at once.
          const traced = tracingEnabled() ? messageTrace(message) : undefined;
          const handle = (event: EventEnvelope) =>
            consumeSpan(queue, event, traced, events.length === 1, () => handler(event)).catch((error: unknown) => deadLetter(error, event));
          const deadLetter = async (error: unknown, event: EventEnvelope) => {
            if (!(error instanceof DeadLetterError)) throw error;
            publisher ??= connection.createPublisher({ confirm: true, maxAttempts: 3, exchanges });
            await publisher.send(
              { exchange: DEAD_LETTER_EXCHANGE, routingKey: deadLetterQueue, durable: true, messageId: event.id, contentType: 'application/json', type: event.type, headers: { 'x-wallet-reason': error.reason } },
              event,
            );
          };
          if (messageHandler) await consumeMessageSpan(queue, events, traced, () => messageHandler(events));
          else if (concurrency > 1) await Promise.all(events.map(handle));
          else for (const event of events) await handle(event);
        },
      );
      consumer.on('error', (error) => log.warn({ err: error, queue }, 'rabbitmq consumer error'));
      consumers.push(consumer);
      // Resolve only once the queue is declared, bound and consumed, so nothing published after
      // subscribe() returns can miss it.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`consumer for ${queue} not ready within 30 s`)), 30_000);
        consumer.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const setup = await connection.acquire();
      try {
        await setup.queueDeclare({ queue: deadLetterQueue, durable: true, arguments: { 'x-queue-type': 'quorum' } });
        await setup.exchangeDeclare({ exchange: DEAD_LETTER_EXCHANGE, type: 'direct', durable: true });
        await setup.queueBind({ exchange: DEAD_LETTER_EXCHANGE, queue: deadLetterQueue, routingKey: deadLetterQueue });
      } finally {
        await setup.close();
      }
    },
    async retireQueue(name) {
      const ch = await connection.acquire();
      try {
        await ch.queueDelete({ queue: `${namespace}.${name}` });
      } finally {
        await ch.close();
      }
    },
    async ping() {
      return connection.ready;
    },
    async queueDepths() {
      // One after another on the connection's shared channel: a few small round trips per scrape.
      const depths: QueueDepth[] = [];
      for (const name of consumedQueues) {
        try {
          const queue = await connection.queueDeclare({ queue: `${namespace}.${name}`, passive: true });
          const dead = await connection.queueDeclare({ queue: `${namespace}.${name}.dlq`, passive: true });
          depths.push({ queue: name, ready: queue.messageCount, consumers: queue.consumerCount, deadLettered: dead.messageCount });
        } catch {
          // Not declared yet (a subscription starting) or gone: left out of this reading.
        }
      }
      return depths;
    },
    async close() {
      await Promise.all(consumers.map((c) => c.close()));
      await publisher?.close();
      await connection.close();
    },
    async destroy(queues = []) {
      await Promise.all(consumers.map((c) => c.close()));
      const ch = await connection.acquire();
      try {
        const others = queues.flatMap((q) => [`${namespace}.${q}`, `${namespace}.${q}.dlq`]);
        for (const queue of new Set([...declaredQueues, ...others])) await ch.queueDelete({ queue });
        await ch.exchangeDelete({ exchange: EVENTS_EXCHANGE });
        await ch.exchangeDelete({ exchange: DEAD_LETTER_EXCHANGE });
      } finally {
        await ch.close();
      }
    },
  };
}

function messageTrace(message: AsyncMessage): TraceCarrier | undefined {
  const value = (name: string) => {
    const v: unknown = message.headers?.[name];
    return typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
  };
  const traceparent = value('traceparent');
  return traceparent ? { traceparent, tracestate: value('tracestate') } : undefined;
}

function parseMessage(message: AsyncMessage): EventEnvelope[] | undefined {
  let body: unknown = message.body;
  if (Buffer.isBuffer(body)) {
    try {
      body = JSON.parse(body.toString('utf8'));
    } catch {
      return undefined;
    }
  }
  const events = Array.isArray(body) ? body : [body];
  const valid = (e: Partial<EventEnvelope> | null) => !!e && typeof e.id === 'string' && typeof e.type === 'string' && typeof e.data === 'object';
  return events.length > 0 && events.every(valid) ? (events as EventEnvelope[]) : undefined;
}

/** In-process bus: one queue per subscription, handled in order, retried, then dead-lettered. */
export function createMemoryBus(log: Logger): Bus & { deadLetters: (EventEnvelope & { reason?: string })[] } {
  interface Queue {
    sub: Subscription;
    items: { event: EventEnvelope; trace?: TraceCarrier }[];
    running: boolean;
    deadLettered: number;
  }
  const queues = new Map<string, Queue>();
  const deadLetters: (EventEnvelope & { reason?: string })[] = [];
  let closed = false;

  const deliver = async (q: Queue, { event, trace }: { event: EventEnvelope; trace?: TraceCarrier }) => {
    for (let attempt = 1; ; attempt++) {
      try {
        const sub = q.sub;
        if (sub.messageHandler) await consumeMessageSpan(sub.queue, [event], trace, () => sub.messageHandler!([structuredClone(event)]));
        else await consumeSpan(sub.queue, event, trace, true, () => sub.handler(structuredClone(event)));
        return;
      } catch (error) {
        if (error instanceof DeadLetterError) {
          log.error({ queue: q.sub.queue, eventId: event.id, reason: error.reason }, 'event dead-lettered');
          deadLetters.push({ ...event, reason: error.reason });
          q.deadLettered++;
          return;
        }
        if (attempt >= deliveryAttemptsMax) {
          log.error({ err: error, queue: q.sub.queue, eventId: event.id }, 'event dead-lettered');
          deadLetters.push(event);
          q.deadLettered++;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
      }
    }
  };

  const drain = async (q: Queue) => {
    if (q.running) return;
    q.running = true;
    try {
      while (q.items.length > 0 && !closed) {
        // Up to `concurrency` deliveries at once, started in order, like the RabbitMQ consumer.
        const batch = q.items.splice(0, q.sub.concurrency ?? 1);
        await Promise.all(batch.map((item) => deliver(q, item)));
      }
    } finally {
      q.running = false;
    }
  };

  return {
    deadLetters,
    async publish(events, options = {}) {
      for (const event of events) {
        // Each event is its own message here, published in its own PRODUCER span.
        const trace = tracingEnabled() ? memoryPublishSpan(options.routingKey ?? event.type, event) : undefined;
        for (const q of queues.values()) {
          if (q.sub.topics.some((t) => topicMatches(t, options.routingKey ?? event.type))) q.items.push({ event, trace });
        }
      }
      for (const q of queues.values()) setImmediate(() => void drain(q));
    },
    async subscribe(sub) {
      if (queues.has(sub.queue)) throw new Error(`queue ${sub.queue} already has a consumer`);
      queues.set(sub.queue, { sub, items: [], running: false, deadLettered: 0 });
    },
    async retireQueue() {
      // Nothing outlives the process here.
    },
    async ping() {
      return !closed;
    },
    async queueDepths() {
      return [...queues.values()].map((q) => ({ queue: q.sub.queue, ready: q.items.length, consumers: 1, deadLettered: q.deadLettered }));
    },
    async close() {
      closed = true;
    },
  };
}
