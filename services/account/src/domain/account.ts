// Pure decisions about accounts: what may be opened, and which status and limits changes are allowed.
// Inputs in, a record or a refusal out; the caller stores the result in one transaction.
import { Tier, type Account, type AccountStatus, type AccountType } from '@wallet/contracts';
import type { ProblemCode } from '@wallet/kit';
import { AMOUNT_MAX, currency } from '@wallet/money';
import { Value } from 'typebox/value';

export const NAME_LENGTH_MAX = 60;
/** Owner of the system (settlement) accounts. */
export const SYSTEM_OWNER = 'system';
/** Settlement accounts may go below zero without bound: they mirror money entering and leaving. */
export const SETTLEMENT_OVERDRAFT_LIMIT = AMOUNT_MAX;
/** The limits tier every account starts in. */
export const DEFAULT_TIER = 'standard';

export interface AccountRecord {
  id: string;
  ownerId: string;
  currency: string;
  name: string;
  type: AccountType;
  status: AccountStatus;
  /** Minor units below zero the account may go. */
  overdraftLimit: bigint;
  /** The limits tier the transfer policy applies to the account. */
  tier: string;
  createdAt: Date;
}

export interface Refusal {
  ok: false;
  code: ProblemCode;
  detail: string;
  /** The request field at fault, for validation errors. */
  field?: string;
}

export type Decision<T> = { ok: true; value: T } | Refusal;

const refuse = (code: ProblemCode, detail: string, field?: string): Refusal => ({ ok: false, code, detail, ...(field ? { field } : {}) });

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}

// Control characters (C0, DEL, C1) and Unicode line/paragraph separators never belong in a name.
// eslint-disable-next-line no-control-regex
const forbiddenNameCharacters = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** The account's display name: the given one trimmed, or "<CUR> account". */
export function accountName(currencyCode: string, requested: string | undefined): Decision<string> {
  if (requested === undefined) return { ok: true, value: `${currencyCode} account` };
  const name = requested.trim();
  if (name.length === 0) return refuse('validation_failed', 'The name must not be blank', 'body/name');
  if ([...name].length > NAME_LENGTH_MAX) return refuse('validation_failed', `The name must be at most ${NAME_LENGTH_MAX} characters`, 'body/name');
  if (forbiddenNameCharacters.test(name)) return refuse('validation_failed', 'The name must not contain control characters', 'body/name');
  return { ok: true, value: name };
}

export interface OpenUserAccountInput {
  id: string;
  ownerId: string;
  currencyCode: string;
  name: string | undefined;
  /** Accounts the owner holds that are not closed. */
  openAccounts: number;
  openAccountsMax: number;
  now: Date;
}

export function openUserAccount(input: OpenUserAccountInput): Decision<AccountRecord> {
  const name = accountName(input.currencyCode, input.name);
  if (!name.ok) return name;
  if (!currency(input.currencyCode)) return refuse('unsupported_currency', `${input.currencyCode} is not a supported ISO 4217 currency`);
  if (input.openAccounts >= input.openAccountsMax) {
    return refuse('account_limit_reached', `A person may hold at most ${input.openAccountsMax} accounts`);
  }
  return {
    ok: true,
    value: {
      id: input.id,
      ownerId: input.ownerId,
      currency: input.currencyCode,
      name: name.value,
      type: 'user',
      status: 'active',
      overdraftLimit: 0n,
      tier: DEFAULT_TIER,
      createdAt: input.now,
    },
  };
}

export function settlementAccount(input: { id: string; currencyCode: string; now: Date }): Decision<AccountRecord> {
  if (!currency(input.currencyCode)) return refuse('unsupported_currency', `${input.currencyCode} is not a supported ISO 4217 currency`);
  return {
    ok: true,
    value: {
      id: input.id,
      ownerId: SYSTEM_OWNER,
      currency: input.currencyCode,
      name: `${input.currencyCode} settlement`,
      type: 'settlement',
      status: 'active',
      overdraftLimit: SETTLEMENT_OVERDRAFT_LIMIT,
      tier: DEFAULT_TIER,
      createdAt: input.now,
    },
  };
}

/** Statuses an operator can set; closing is not one of them (closed is final). */
export type SettableStatus = 'active' | 'frozen';

export type StatusChange = { changed: false; account: AccountRecord } | { changed: true; account: AccountRecord; previousStatus: AccountStatus };

export function changeStatus(account: AccountRecord, target: SettableStatus): Decision<StatusChange> {
  if (account.status === 'closed') return refuse('account_closed', 'A closed account cannot change status');
  if (account.status === target) return { ok: true, value: { changed: false, account } };
  return { ok: true, value: { changed: true, account: { ...account, status: target }, previousStatus: account.status } };
}

/** An overdraft limit as an operator sends it: a digit string of minor units, 0 up to the bigint maximum. */
export const OVERDRAFT_LIMIT_PATTERN = '^(0|[1-9][0-9]{0,18})$';
const overdraftLimitRegex = new RegExp(OVERDRAFT_LIMIT_PATTERN);

export function parseOverdraftLimit(text: string): Decision<bigint> {
  if (!overdraftLimitRegex.test(text)) {
    return refuse('validation_failed', 'The overdraft limit must be a whole number of minor units, as a string of digits', 'body/overdraftLimit');
  }
  const value = BigInt(text);
  if (value > AMOUNT_MAX) return refuse('validation_failed', `The overdraft limit must be at most ${AMOUNT_MAX}`, 'body/overdraftLimit');
  return { ok: true, value };
}

/** What an operator asks to change; an absent field stays as it is. */
export interface LimitsRequest {
  overdraftLimit?: bigint;
  tier?: string;
}

export type LimitsChange = { changed: boolean; account: AccountRecord };

/**
 * Sets an account's overdraft limit and/or limits tier. Settlement accounts are unbounded below
 * zero by design: they take a tier but never an overdraft limit (not even their current one).
 */
export function changeLimits(account: AccountRecord, request: LimitsRequest): Decision<LimitsChange> {
  const { overdraftLimit = account.overdraftLimit, tier = account.tier } = request;
  if (request.overdraftLimit !== undefined) {
    if (overdraftLimit < 0n || overdraftLimit > AMOUNT_MAX) {
      return refuse('validation_failed', `The overdraft limit must be between 0 and ${AMOUNT_MAX}`, 'body/overdraftLimit');
    }
    if (account.type === 'settlement') {
      return refuse('account_not_adjustable', 'A settlement account is unbounded below zero: its overdraft limit cannot be set, only its tier');
    }
  }
  if (request.tier !== undefined && !Value.Check(Tier, tier)) {
    return refuse('validation_failed', 'The tier must be 1 to 32 lowercase letters, digits, "_" or "-", starting with a letter', 'body/tier');
  }
  if (overdraftLimit === account.overdraftLimit && tier === account.tier) return { ok: true, value: { changed: false, account } };
  return { ok: true, value: { changed: true, account: { ...account, overdraftLimit, tier } } };
}

/** What a viewer may see: the owner sees their own accounts, an operator sees every account. */
export function canView(account: AccountRecord, viewer: { subject: string; operator: boolean }): boolean {
  return viewer.operator || account.ownerId === viewer.subject;
}

export function toAccount(record: AccountRecord): Account {
  return {
    id: record.id,
    ownerId: record.ownerId,
    currency: record.currency,
    name: record.name,
    type: record.type,
    status: record.status,
    overdraftLimit: record.overdraftLimit.toString(),
    tier: record.tier,
    createdAt: record.createdAt.toISOString(),
  };
}
