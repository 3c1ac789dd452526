// Where the ledger learns about accounts and aliases: its own table first, then the account and
// alias services over internal REST (timeout, circuit breaker). The facts that never change (owner,
// currency, type) are also kept in memory, so the hot path does not ask the database for them.
import { ProblemError, type Db, type ServiceClient } from '@wallet/kit';
import type { Account } from '@wallet/contracts';
import { findAccount, insertAccount, type AccountFacts } from './store/ledger-store.ts';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What does not change over an account's life; status, limits and balance are read under lock. */
export type FixedFacts = Pick<AccountFacts, 'id' | 'ownerId' | 'currency' | 'type'>;

export function factsFromAccount(a: Pick<Account, 'id' | 'ownerId' | 'currency' | 'type' | 'status' | 'overdraftLimit'> & { tier?: string }): AccountFacts {
  return {
    id: a.id,
    ownerId: a.ownerId,
    currency: a.currency,
    type: a.type,
    status: a.status,
    overdraftLimit: a.type === 'settlement' ? null : BigInt(a.overdraftLimit),
    tier: a.tier ?? 'standard',
  };
}

export interface Directory {
  /** The account's fixed facts, fetched once from the account service on a miss. */
  account(id: string, requestId?: string): Promise<FixedFacts>;
  settlementAccount(currency: string, requestId?: string): Promise<FixedFacts>;
  /** The account that receives money at an alias, in a currency. */
  resolveAlias(alias: string, currency: string, requestId?: string): Promise<string>;
}

export interface DirectoryOptions {
  /** Accounts whose fixed facts stay in memory. */
  accountsCachedMax?: number;
  /** How long an alias → account answer is reused (an alias can be relinked). */
  aliasTtlMs?: number;
}

export function createDirectory(db: Db, accounts: ServiceClient, aliases: ServiceClient, options: DirectoryOptions = {}): Directory {
  const { accountsCachedMax = 200_000, aliasTtlMs = 2000 } = options;
  const known = new Map<string, FixedFacts>();
  const settlementIds = new Map<string, string>();
  const aliasAnswers = new Map<string, { accountId: string; expiresAt: number }>();

  const keep = (facts: FixedFacts): FixedFacts => {
    if (known.size >= accountsCachedMax) known.delete(known.keys().next().value!); // oldest first
    const fixed = { id: facts.id, ownerId: facts.ownerId, currency: facts.currency, type: facts.type };
    known.set(facts.id, fixed);
    return fixed;
  };

  const fetchAccount = async (id: string, requestId?: string) => {
    const stored = await findAccount(db, id);
    if (stored) return keep(stored);
    const response = await accounts.get<Account>(`/internal/accounts/${id}`, requestId);
    if (response.status === 404) throw new ProblemError('account_not_found');
    if (response.status !== 200) throw new ProblemError('dependency_unavailable', `The account service answered ${response.status}`);
    await insertAccount(db, factsFromAccount(response.body));
    return keep(response.body);
  };

  return {
    async account(id, requestId) {
      if (!uuidPattern.test(id)) throw new ProblemError('account_not_found');
      const normalized = id.toLowerCase();
      return known.get(normalized) ?? fetchAccount(normalized, requestId);
    },
    async settlementAccount(currency, requestId) {
      const knownId = settlementIds.get(currency);
      if (knownId && known.has(knownId)) return known.get(knownId)!;
      const response = await accounts.put<Account>(`/internal/settlement-accounts/${currency}`, undefined, requestId);
      if (response.status === 422) throw new ProblemError('unsupported_currency');
      if (response.status !== 200 && response.status !== 201) throw new ProblemError('dependency_unavailable', `The account service answered ${response.status}`);
      await insertAccount(db, factsFromAccount(response.body));
      settlementIds.set(currency, response.body.id);
      return keep(response.body);
    },
    async resolveAlias(alias, currency, requestId) {
      const cacheKey = `${alias.toLowerCase()}\n${currency}`;
      const cached = aliasAnswers.get(cacheKey);
      if (cached && cached.expiresAt > Date.now()) return cached.accountId;
      const path = `/internal/aliases/${encodeURIComponent(alias)}?currency=${encodeURIComponent(currency)}`;
      const response = await aliases.get<{ accountId: string }>(path, requestId);
      if (response.status === 404 || response.status === 400) throw new ProblemError('alias_not_found');
      if (response.status !== 200) throw new ProblemError('dependency_unavailable', `The alias service answered ${response.status}`);
      if (aliasAnswers.size >= 10_000) aliasAnswers.clear();
      aliasAnswers.set(cacheKey, { accountId: response.body.accountId, expiresAt: Date.now() + aliasTtlMs });
      return response.body.accountId;
    },
  };
}
