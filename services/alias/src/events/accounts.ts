// Consumer of the account service's events (queue alias.accounts): the seed's asynchronous
// user–account linking. Each event is applied once (inbox), whatever the broker redelivers.
import { eventTypes, type AccountOpened, type AccountStatusChanged } from '@wallet/contracts';
import { handleOnce, type Db, type EventEnvelope, type EventHandler, type Queryable } from '@wallet/kit';
import { linkAccountToAliasesWithout, oldestOpenAccount, recordAccount, unlinkAccount, updateAccountStatus } from '../store/accounts.ts';

export const accountEventsQueue = 'alias.accounts';
export const accountEventsTopics = ['account.*'];

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const statuses = new Set(['active', 'frozen', 'closed']);
const isUuid = (value: unknown): value is string => typeof value === 'string' && uuidPattern.test(value);

function isAccountOpened(data: unknown): data is AccountOpened {
  const d = data as Partial<AccountOpened> | null;
  return (
    !!d && isUuid(d.accountId) && typeof d.ownerId === 'string' && typeof d.currency === 'string' && /^[A-Z]{3}$/.test(d.currency) &&
    typeof d.type === 'string' && statuses.has(String(d.status)) && typeof d.createdAt === 'string'
  );
}

function isAccountStatusChanged(data: unknown): data is AccountStatusChanged {
  const d = data as Partial<AccountStatusChanged> | null;
  return !!d && isUuid(d.accountId) && statuses.has(String(d.status)) && typeof d.changedAt === 'string' && !Number.isNaN(Date.parse(d.changedAt));
}

/** A user's first account in a currency receives for all their aliases; later ones wait their turn. */
async function onAccountOpened(q: Queryable, account: AccountOpened): Promise<void> {
  // Settlement accounts belong to the system, and only people (UUID owners) have aliases.
  if (account.type !== 'user' || !isUuid(account.ownerId)) return;
  await recordAccount(q, { accountId: account.accountId, userId: account.ownerId, currency: account.currency, status: account.status, openedAt: account.createdAt });
  if (account.status !== 'closed') await linkAccountToAliasesWithout(q, account.ownerId, account.currency, account.accountId);
}

/**
 * A frozen account stops receiving until it is unfrozen: its links stay, lookups skip it. A closed
 * account stops for good: its links go, and the owner's next open account in that currency (an
 * active one first) takes over for the aliases it received for. Changes apply in the order they
 * happened (changedAt), whatever order they arrive in.
 */
async function onAccountStatusChanged(q: Queryable, change: AccountStatusChanged): Promise<void> {
  const account = await updateAccountStatus(q, change.accountId, change.status, new Date(change.changedAt));
  if (!account || change.status !== 'closed') return;
  await unlinkAccount(q, change.accountId);
  const next = await oldestOpenAccount(q, account.userId, account.currency);
  if (next) await linkAccountToAliasesWithout(q, account.userId, account.currency, next);
}

export function accountEventHandler(deps: { db: Db; log: { warn(obj: object, msg: string): void } }): EventHandler {
  return async (event: EventEnvelope) => {
    const skip = (why: string) => deps.log.warn({ eventId: event.id, type: event.type }, `skipping account event: ${why}`);
    if (!isUuid(event.id)) return skip('its id is not a UUID');
    const data = event.data;
    switch (event.type) {
      case eventTypes.accountOpened:
        if (!isAccountOpened(data)) return skip('malformed data');
        await handleOnce(deps.db, 'alias', event.id, (q) => onAccountOpened(q, data));
        return;
      case eventTypes.accountStatusChanged:
        if (!isAccountStatusChanged(data)) return skip('malformed data');
        await handleOnce(deps.db, 'alias', event.id, (q) => onAccountStatusChanged(q, data));
        return;
      default:
        return; // other account events are of no interest here
    }
  };
}
