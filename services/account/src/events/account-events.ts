// The events the account service publishes, through its outbox.
import { eventTypes, type AccountOpened, type AccountStatus, type AccountStatusChanged } from '@wallet/contracts';
import { envelope, type EventEnvelope } from '@wallet/kit';
import { toAccount, type AccountRecord } from '../domain/account.ts';

const SOURCE = 'account';

export function accountOpened(account: AccountRecord): EventEnvelope<AccountOpened> {
  const { id, ownerId, currency, type, status, name, overdraftLimit, createdAt } = toAccount(account);
  return envelope<AccountOpened>(SOURCE, eventTypes.accountOpened, { accountId: id, ownerId, currency, type, status, name, overdraftLimit, createdAt });
}

export function accountStatusChanged(account: AccountRecord, previousStatus: AccountStatus, changedAt: Date): EventEnvelope<AccountStatusChanged> {
  return envelope<AccountStatusChanged>(SOURCE, eventTypes.accountStatusChanged, {
    accountId: account.id,
    ownerId: account.ownerId,
    status: account.status,
    previousStatus,
    changedAt: changedAt.toISOString(),
  });
}
