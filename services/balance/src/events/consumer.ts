// The balance service's one queue: account events create balance rows, transaction events move them.
import type { EventEnvelope, Subscription } from '@wallet/kit';
import { eventTypes } from '@wallet/contracts';
import { parseAccountOpened, parseTransactionCreated } from '../domain/entry.ts';
import { InvalidEventError, type Projector } from './projector.ts';

export const BALANCE_QUEUE = 'balance.events';

interface Log {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Thrown for data that can never be applied; the broker retries it and then dead-letters it. */
export class MalformedEventError extends Error {
  override name = 'MalformedEventError';
}

export function balanceSubscription(projector: Projector, log: Log, prefetch: number): Subscription {
  const handle = async (event: EventEnvelope) => {
    switch (event.type) {
      case eventTypes.accountOpened: {
        const parsed = parseAccountOpened(event.data);
        if (!parsed.ok) throw new MalformedEventError(`account.opened: ${parsed.reason}`);
        await projector.accountOpened(parsed.value);
        return;
      }
      case eventTypes.transactionCreated: {
        const parsed = parseTransactionCreated(event.data);
        if (!parsed.ok) throw new MalformedEventError(`transaction.created: ${parsed.reason}`);
        await projector.transactionCreated(parsed.value.entries);
        return;
      }
      default:
        // Other account.* and transaction.* events do not move balances.
        return;
    }
  };

  return {
    queue: BALANCE_QUEUE,
    topics: ['account.*', 'transaction.*'],
    prefetch,
    async handler(event) {
      try {
        await handle(event);
      } catch (error) {
        // The one place consumer failures are logged; the broker redelivers, then dead-letters.
        if (error instanceof InvalidEventError) {
          log.error(
            { eventId: event.id, type: event.type, accountId: error.accountId, sequence: error.sequence?.toString(), reason: error.reason, err: error },
            'event contradicts the stored balance; not applied',
          );
        } else if (error instanceof MalformedEventError) {
          log.error({ eventId: event.id, type: event.type, err: error }, 'malformed event; not applied');
        } else {
          log.warn({ eventId: event.id, type: event.type, err: error }, 'event not applied yet; it will be redelivered');
        }
        throw error;
      }
    },
  };
}
