// Keeps the ledger's copy of account facts current from the account service's events.
// Both handlers are idempotent by themselves: an insert that ignores known accounts, and a status
// update that only moves forward in time.
import type { Db, EventEnvelope } from '@wallet/kit';
import { eventTypes, type AccountOpened, type AccountStatusChanged } from '@wallet/contracts';
import { factsFromAccount, type Directory } from '../directory.ts';
import { insertAccount, setAccountStatus } from '../store/ledger-store.ts';

export function accountEventHandler(db: Db, directory: Directory) {
  return async (event: EventEnvelope) => {
    if (event.type === eventTypes.accountOpened) {
      const data = event.data as AccountOpened;
      await insertAccount(db, factsFromAccount({ ...data, id: data.accountId }));
    } else if (event.type === eventTypes.accountStatusChanged) {
      const data = event.data as AccountStatusChanged;
      if (await setAccountStatus(db, data.accountId, data.status, new Date(data.changedAt))) return;
      // Not known yet: fetch the current facts, so a fetch racing this event cannot keep an old status.
      await directory.account(data.accountId);
      await setAccountStatus(db, data.accountId, data.status, new Date(data.changedAt));
    }
  };
}
