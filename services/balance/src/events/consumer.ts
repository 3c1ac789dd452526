// The balance service's partition queues (events/partitions.ts routes into them): account events
// create balance rows and set their overdraft limits, transaction events (transfers, hold steps) move
// them. Up to `prefetch` deliveries are handled at once; each is parsed and handed to a group-commit
// batcher in delivery order, and acknowledged once the batch that applied it has committed and its
// balances are in the cache (the cache write overlaps the next batch's transaction).
import { createBatcher, DeadLetterError, type EventEnvelope, type Subscription } from '@wallet/kit';
import { crashPoint } from '@wallet/kit/crash';
import { partitionQueue, partitionRoutingKey } from './partitions.ts';
import { entryEventTypes, eventTypes } from '@wallet/contracts';
import type { BalanceEvent } from '../domain/batch.ts';
import { parseAccountOpened, parseHoldChanged, parseLimitsChanged, parseTransactionCreated } from '../domain/entry.ts';
import { InvalidEventError, type Applied, type Projector } from './projector.ts';


interface Log {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Thrown for data that can never be applied; the broker retries it and then dead-letters it. */
export class MalformedEventError extends Error {
  override name = 'MalformedEventError';
}

export interface ConsumerOptions {
  /** Deliveries in flight from the broker, all handled at once. */
  prefetch: number;
  /** Events applied in one database transaction at most. */
  batchEventsMax: number;
  /** Told of every refused delivery (metrics). */
  onRejected?(reason: string): void;
}

/**
 * What the projector makes of a delivery; undefined for events that do not move balances
 * (`transaction.rejected`, `account.status_changed`, anything unknown).
 */
export function toBalanceEvent(event: EventEnvelope): BalanceEvent | undefined {
  switch (event.type) {
    case eventTypes.accountOpened: {
      const parsed = parseAccountOpened(event.data);
      if (!parsed.ok) throw new MalformedEventError(`${event.type}: ${parsed.reason}`);
      return { kind: 'account_opened', account: parsed.value };
    }
    case eventTypes.accountLimitsChanged: {
      const parsed = parseLimitsChanged(event.data);
      if (!parsed.ok) throw new MalformedEventError(`${event.type}: ${parsed.reason}`);
      return { kind: 'limits_changed', limits: parsed.value };
    }
    default: {
      // Entry-bearing events: a transfer's (`transaction.created`) or a hold step's (`transaction.hold_*`).
      if (!entryEventTypes.includes(event.type)) return undefined;
      const parsed = event.type === eventTypes.transactionCreated ? parseTransactionCreated(event.data) : parseHoldChanged(event.data);
      if (!parsed.ok) throw new MalformedEventError(`${event.type}: ${parsed.reason}`);
      return { kind: 'entries', entries: parsed.value.entries, createdAt: parsed.value.createdAt };
    }
  }
}

/**
 * The subscriptions of one partition queue each; they share one batcher, so a process applies its
 * partitions' events in one transaction per batch. A queue's events reach the batcher in delivery order.
 */
export function partitionSubscriptions(projector: Projector, log: Log, partitions: readonly number[], options: ConsumerOptions): Subscription[] {
  const handler = balanceHandler(projector, log, options);
  return partitions.map((k) => ({
    queue: partitionQueue(k),
    topics: [partitionRoutingKey(k)],
    prefetch: options.prefetch,
    // Handler calls start in delivery order and reach the batcher before their first await, so a
    // batch holds each queue's events in delivery order.
    concurrency: options.prefetch,
    // One replica applies a partition at a time; the others stand by and take over if it goes.
    singleActiveConsumer: true,
    handler,
  }));
}

function balanceHandler(projector: Projector, log: Log, { batchEventsMax, onRejected }: ConsumerOptions): Subscription['handler'] {
  const batcher = createBatcher<BalanceEvent, Applied>((events) => projector.applyBatch(events), batchEventsMax);
  return async function handler(event) {
      try {
        const parsed = toBalanceEvent(event);
        if (!parsed) return;
        // Acknowledged only once the cache holds the new balances too: a crash in between
        // redelivers the event, whose (duplicate) entries then write the cache again.
        const { cached } = await batcher.submit(parsed);
        await cached;
        crashPoint('consumer.after_apply_before_ack');
      } catch (error) {
        // The one place consumer failures are logged; the broker redelivers, then dead-letters.
        if (error instanceof InvalidEventError) {
          onRejected?.(error.reason);
          log.error(
            { eventId: event.id, type: event.type, accountId: error.accountId, sequence: error.sequence?.toString(), reason: error.reason, err: error },
            'event contradicts the stored balance; not applied',
          );
        } else if (error instanceof MalformedEventError) {
          onRejected?.('malformed');
          log.error({ eventId: event.id, type: event.type, err: error }, 'malformed event; not applied');
        } else {
          log.warn({ eventId: event.id, type: event.type, err: error }, 'event not applied yet; it will be redelivered');
          throw error;
        }
        // Never applied, never retried: to the dead-letter queue at once, with the reason.
        throw new DeadLetterError(error instanceof InvalidEventError ? `${error.reason}: ${error.message}` : error.message);
      }
  };
}
