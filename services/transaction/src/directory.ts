// Where the ledger learns about accounts and aliases it has not seen: the account and alias
// services over internal REST (timeout, circuit breaker), remembered in the ledger's own table.
import { ProblemError, type Db, type ServiceClient } from '@wallet/kit';
import type { Account } from '@wallet/contracts';
import type { LedgerAccount } from './domain/transfer.ts';
import { findAccount, insertAccount, type AccountFacts } from './store/ledger-store.ts';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function factsFromAccount(a: Pick<Account, 'id' | 'ownerId' | 'currency' | 'type' | 'status' | 'overdraftLimit'>): AccountFacts {
  return {
    id: a.id,
    ownerId: a.ownerId,
    currency: a.currency,
    type: a.type,
    status: a.status,
    overdraftLimit: a.type === 'settlement' ? null : BigInt(a.overdraftLimit),
  };
}

export interface Directory {
  /** The account as the ledger knows it, fetched once from the account service on a miss. */
  account(id: string, requestId?: string): Promise<LedgerAccount>;
  settlementAccount(currency: string, requestId?: string): Promise<LedgerAccount>;
  /** The account that receives money at an alias, in a currency. */
  resolveAlias(alias: string, currency: string, requestId?: string): Promise<string>;
}

export function createDirectory(db: Db, accounts: ServiceClient, aliases: ServiceClient): Directory {
  const settlementIds = new Map<string, string>();

  const remember = async (account: Account) => {
    await insertAccount(db, factsFromAccount(account));
    const known = await findAccount(db, account.id);
    if (!known) throw new Error(`account ${account.id} not recorded`);
    return known;
  };

  return {
    async account(id, requestId) {
      if (!uuidPattern.test(id)) throw new ProblemError('account_not_found');
      const known = await findAccount(db, id);
      if (known) return known;
      const response = await accounts.get<Account>(`/internal/accounts/${id}`, requestId);
      if (response.status === 404) throw new ProblemError('account_not_found');
      if (response.status !== 200) throw new ProblemError('dependency_unavailable', `The account service answered ${response.status}`);
      return remember(response.body);
    },
    async settlementAccount(currency, requestId) {
      const knownId = settlementIds.get(currency);
      const known = knownId && (await findAccount(db, knownId));
      if (known) return known;
      const response = await accounts.put<Account>(`/internal/settlement-accounts/${currency}`, undefined, requestId);
      if (response.status === 422) throw new ProblemError('unsupported_currency');
      if (response.status !== 200 && response.status !== 201) throw new ProblemError('dependency_unavailable', `The account service answered ${response.status}`);
      settlementIds.set(currency, response.body.id);
      return remember(response.body);
    },
    async resolveAlias(alias, currency, requestId) {
      const path = `/internal/aliases/${encodeURIComponent(alias)}?currency=${encodeURIComponent(currency)}`;
      const response = await aliases.get<{ accountId: string }>(path, requestId);
      if (response.status === 404 || response.status === 400) throw new ProblemError('alias_not_found');
      if (response.status !== 200) throw new ProblemError('dependency_unavailable', `The alias service answered ${response.status}`);
      return response.body.accountId;
    },
  };
}
