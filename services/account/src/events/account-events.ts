// The events the account service publishes, through its outbox.
import { eventTypes, type AccountLimitsChanged, type AccountOpened, type AccountStatus, type AccountStatusChanged } from '@wallet/contracts';
import { envelope, type EventEnvelope } from '@wallet/kit';
import { toAccount, type AccountRecord } from '../domain/account.ts';

const SOURCE = 'account';

export function accountOpened(account: AccountRecord): EventEnvelope<AccountOpened> {
  const { id, ownerId, currency, type, status, name, overdraftLimit, tier, createdAt } = toAccount(account);
  return envelope<AccountOpened>(SOURCE, eventTypes.accountOpened, { accountId: id, ownerId, currency, type, status, name, overdraftLimit, tier, createdAt });
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

/** The account's limits as they now stand (both fields, whichever of them changed). */
export function accountLimitsChanged(account: AccountRecord, changedAt: Date): EventEnvelope<AccountLimitsChanged> {
  return envelope<AccountLimitsChanged>(SOURCE, eventTypes.accountLimitsChanged, {
    accountId: account.id,
    ownerId: account.ownerId,
    overdraftLimit: account.overdraftLimit.toString(),
    tier: account.tier,
    changedAt: changedAt.toISOString(),
  });
}
