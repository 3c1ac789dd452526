// The account use cases: a domain decision, stored with its event in one transaction,
// then the outbox relay is woken so the event leaves at once.
import { randomUUID } from 'node:crypto';
import { appendOutbox, ProblemError, type Db } from '@wallet/kit';
import {
  accountName,
  canView,
  changeLimits,
  changeStatus,
  isUuid,
  openUserAccount,
  parseOverdraftLimit,
  settlementAccount,
  type AccountRecord,
  type Decision,
  type LimitsRequest,
  type SettableStatus,
} from './domain/account.ts';
import { accountLimitsChanged, accountOpened, accountStatusChanged } from './events/account-events.ts';
import * as store from './store/accounts.ts';

export interface Viewer {
  subject: string;
  operator: boolean;
}

export interface Accounts {
  open(input: { ownerId: string; currency: string; name?: string }): Promise<AccountRecord>;
  listByOwner(ownerId: string): Promise<AccountRecord[]>;
  /** The account if it exists and the viewer may see it; account_not_found otherwise. */
  getVisible(id: string, viewer: Viewer): Promise<AccountRecord>;
  /** Any account, for other services. */
  get(id: string): Promise<AccountRecord>;
  setStatus(id: string, target: SettableStatus): Promise<AccountRecord>;
  /** Operators: the overdraft limit (minor units, digit string) and/or the limits tier. */
  setLimits(id: string, request: { overdraftLimit?: string; tier?: string }): Promise<AccountRecord>;
  settlement(currency: string): Promise<{ account: AccountRecord; created: boolean }>;
  /** The owner renames an account. The name lives only here (no other service keeps it), so no event. */
  rename(id: string, ownerId: string, name: string): Promise<AccountRecord>;
}

export interface AccountsDeps {
  db: Db;
  accountsPerUserMax: number;
  /** Called after a commit that wrote to the outbox. */
  wakeRelay: () => void;
}

const notFound = () => new ProblemError('account_not_found');

function decided<T>(decision: Decision<T>): T {
  if (decision.ok) return decision.value;
  throw new ProblemError(decision.code, decision.detail, decision.field ? { errors: [{ field: decision.field, message: decision.detail }] } : {});
}

export function createAccounts({ db, accountsPerUserMax, wakeRelay }: AccountsDeps): Accounts {
  const find = async (id: string) => (isUuid(id) ? store.findAccount(db, id) : undefined);

  return {
    async open({ ownerId, currency, name }) {
      const account = await db.tx(async (q) => {
        await store.lockOwner(q, ownerId);
        const openAccounts = await store.countOpenAccounts(q, ownerId);
        const opened = decided(
          openUserAccount({ id: randomUUID(), ownerId, currencyCode: currency, name, openAccounts, openAccountsMax: accountsPerUserMax, now: new Date() }),
        );
        await store.insertAccount(q, opened);
        await appendOutbox(q, store.SCHEMA, [accountOpened(opened)]);
        return opened;
      });
      wakeRelay();
      return account;
    },

    listByOwner: (ownerId) => store.listByOwner(db, ownerId),

    async getVisible(id, viewer) {
      const account = await find(id);
      if (!account || !canView(account, viewer)) throw notFound();
      return account;
    },

    async get(id) {
      const account = await find(id);
      if (!account) throw notFound();
      return account;
    },

    async setStatus(id, target) {
      if (!isUuid(id)) throw notFound();
      const { account, changed } = await db.tx(async (q) => {
        const current = await store.findAccount(q, id, { forUpdate: true });
        if (!current) throw notFound();
        const change = decided(changeStatus(current, target));
        if (!change.changed) return { account: change.account, changed: false };
        const now = new Date();
        await store.updateStatus(q, id, change.account.status, now);
        await appendOutbox(q, store.SCHEMA, [accountStatusChanged(change.account, change.previousStatus, now)]);
        return { account: change.account, changed: true };
      });
      if (changed) wakeRelay();
      return account;
    },

    async setLimits(id, { overdraftLimit, tier }) {
      // The body is checked before the account is looked up, as the route schema already does.
      const requested: LimitsRequest = {};
      if (overdraftLimit !== undefined) requested.overdraftLimit = decided(parseOverdraftLimit(overdraftLimit));
      if (tier !== undefined) requested.tier = tier;
      if (!isUuid(id)) throw notFound();
      const { account, changed } = await db.tx(async (q) => {
        const current = await store.findAccount(q, id, { forUpdate: true });
        if (!current) throw notFound();
        const change = decided(changeLimits(current, requested));
        if (!change.changed) return change;
        const now = new Date();
        await store.updateLimits(q, id, change.account.overdraftLimit, change.account.tier, now);
        await appendOutbox(q, store.SCHEMA, [accountLimitsChanged(change.account, now)]);
        return change;
      });
      if (changed) wakeRelay();
      return account;
    },

    async rename(id, ownerId, requested) {
      const name = decided(accountName('', requested));
      if (!isUuid(id)) throw notFound();
      return db.tx(async (q) => {
        const current = await store.findAccount(q, id, { forUpdate: true });
        if (!current || current.type !== 'user' || current.ownerId !== ownerId) throw notFound();
        if (current.name === name) return current;
        await store.updateName(q, id, name, new Date());
        return { ...current, name };
      });
    },

    async settlement(currency) {
      const candidate = decided(settlementAccount({ id: randomUUID(), currencyCode: currency, now: new Date() }));
      const existing = await store.findSettlement(db, currency);
      if (existing) return { account: existing, created: false };
      const result = await db.tx(async (q) => {
        const inserted = await store.insertSettlementIfAbsent(q, candidate);
        if (inserted) {
          await appendOutbox(q, store.SCHEMA, [accountOpened(inserted)]);
          return { account: inserted, created: true };
        }
        // Another request created it first; its transaction has committed, so this statement sees it.
        const winner = await store.findSettlement(q, currency);
        if (!winner) throw new Error(`settlement account for ${currency} vanished after a conflict`);
        return { account: winner, created: false };
      });
      if (result.created) wakeRelay();
      return result;
    },
  };
}
