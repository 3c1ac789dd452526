// Several balance-service processes consume at once without breaking any account's order: a router
// (one active at a time across replicas) reads every account and ledger event from one queue and
// republishes each account's part to one of a fixed number of partition queues, chosen by the
// account id. Each partition queue has a single active consumer, so one account's events are
// applied in order by one process; the other replicas stand by on it and take over if that one goes.
import type { Bus, EventEnvelope, Subscription } from '@wallet/kit';
import { crashPoint } from '@wallet/kit/crash';
import { entryEventTypes, eventTypes } from '@wallet/contracts';

export const ROUTER_QUEUE = 'balance.router';
/** The queue this service used before partitions; removed at start (the router receives the same events). */
export const LEGACY_QUEUE = 'balance.events';
export const partitionQueue = (k: number) => `balance.p${k}`;
export const partitionRoutingKey = (k: number) => `balance.partition.${k}`;

/** A stable partition for an account: its id's first 32 bits (UUIDs are random there) modulo the count. */
export function partitionOf(accountId: string, partitions: number): number {
  const head = Number.parseInt(accountId.replace(/-/g, '').slice(0, 8), 16);
  return Number.isNaN(head) ? 0 : head % partitions;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Each event's share per partition, in order. An entry-bearing event is split by its entries'
 * accounts; account events follow their account. Events that move no balance are dropped; events too
 * malformed to route go to partition 0, whose consumer dead-letters them with the reason.
 */
export function splitByPartition(events: readonly EventEnvelope[], partitions: number): Map<number, EventEnvelope[]> {
  const out = new Map<number, EventEnvelope[]>();
  const add = (k: number, event: EventEnvelope) => (out.get(k) ?? out.set(k, []).get(k)!).push(event);
  for (const event of events) {
    const data = event.data;
    if (event.type === eventTypes.accountOpened || event.type === eventTypes.accountLimitsChanged) {
      add(isRecord(data) && typeof data.accountId === 'string' ? partitionOf(data.accountId, partitions) : 0, event);
    } else if (entryEventTypes.includes(event.type)) {
      if (!isRecord(data) || !Array.isArray(data.entries) || data.entries.length === 0) {
        add(0, event);
        continue;
      }
      const shares = new Map<number, unknown[]>();
      for (const entry of data.entries) {
        const k = isRecord(entry) && typeof entry.accountId === 'string' ? partitionOf(entry.accountId, partitions) : 0;
        (shares.get(k) ?? shares.set(k, []).get(k)!).push(entry);
      }
      for (const [k, entries] of shares) add(k, shares.size === 1 ? event : { ...event, data: { ...data, entries } });
    }
  }
  return out;
}

/** The router: every replica subscribes; one routes at a time, in order, a broker message at once. */
export function routerSubscription(bus: Bus, partitions: number): Subscription {
  return {
    queue: ROUTER_QUEUE,
    topics: ['account.*', 'transaction.*'],
    singleActiveConsumer: true,
    prefetch: 8,
    handler: async () => undefined,
    // A message is acknowledged once its shares are confirmed by the broker; the next waits for that.
    async messageHandler(events) {
      const shares = splitByPartition(events, partitions);
      await Promise.all([...shares].map(([k, share]) => bus.publish(share, { routingKey: partitionRoutingKey(k) })));
      crashPoint('router.after_publish_before_ack');
    },
  };
}

/** Which partitions this replica takes first; it stands by on the rest. */
export function ownPartitions(partitions: number, replicaIndex: number, replicas: number): { own: number[]; standby: number[] } {
  const all = Array.from({ length: partitions }, (_, k) => k);
  return { own: all.filter((k) => k % replicas === replicaIndex), standby: all.filter((k) => k % replicas !== replicaIndex) };
}
