// Keeps the ledger's copy of account facts current from the account service's events.
// Each handler is idempotent by itself: an insert that ignores known accounts, and status and
// limits updates that only move forward in time.
import type { Db, EventEnvelope } from '@wallet/kit';
import { eventTypes, type AccountLimitsChanged, type AccountOpened, type AccountStatusChanged } from '@wallet/contracts';
import { factsFromAccount, type Directory } from '../directory.ts';
import { insertAccount, setAccountLimits, setAccountStatus } from '../store/ledger-store.ts';

export function accountEventHandler(db: Db, directory: Directory) {
  /** Applies a change; an account not known yet is fetched first, so a fetch racing the event cannot keep old facts. */
  const apply = async (accountId: string, change: () => Promise<boolean>) => {
    if (await change()) return;
    await directory.account(accountId);
    await change();
  };
  return async (event: EventEnvelope) => {
    if (event.type === eventTypes.accountOpened) {
      const data = event.data as AccountOpened;
      await insertAccount(db, factsFromAccount({ ...data, id: data.accountId }));
    } else if (event.type === eventTypes.accountStatusChanged) {
      const data = event.data as AccountStatusChanged;
      await apply(data.accountId, () => setAccountStatus(db, data.accountId, data.status, new Date(data.changedAt)));
    } else if (event.type === eventTypes.accountLimitsChanged) {
      const data = event.data as AccountLimitsChanged;
      await apply(data.accountId, () => setAccountLimits(db, data.accountId, BigInt(data.overdraftLimit), data.tier, new Date(data.changedAt)));
    }
  };
}
