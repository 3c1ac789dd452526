// Parsing of event data into the domain's types. Pure: strings in, bigints out, or a reason.
// Amounts arrive as digit strings (signed for entries) and must fit PostgreSQL's bigint.

/** One ledger entry as the balance projection applies it. */
export interface Entry {
  accountId: string;
  currency: string;
  /** Signed minor units: negative for a debit, positive for a credit; 0 when only the reservation changes. */
  amount: bigint;
  balanceAfter: bigint;
  /** Signed change of the amount reserved by holds; 0 when the entry does not say (written before holds). */
  pendingAmount: bigint;
  /** The amount reserved by holds after this entry, as the ledger states it; null when it does not say. */
  pendingAfter: bigint | null;
  /** Per-account sequence: 1 for the account's first entry, then +1 with each entry. */
  sequence: bigint;
  /** ISO 8601 time the ledger wrote the entry. */
  createdAt: string;
  /** The transfer (or, for a hold's own entries, the hold) the entry belongs to; null when not named. */
  transferId: string | null;
}

export interface AccountOpening {
  accountId: string;
  ownerId: string;
  currency: string;
  /** How far below zero the account may go; `UNBOUNDED_OVERDRAFT` for settlement accounts. */
  overdraftLimit: bigint;
  createdAt: string;
}

/** `account.limits_changed`: the overdraft limit as of `changedAt`. */
export interface LimitsChange {
  accountId: string;
  overdraftLimit: bigint;
  changedAt: string;
}

/** The entries of one entry-bearing event (`transaction.created`, `transaction.hold_*`). */
export interface TransactionEntries {
  /** The transfer's id; for a hold event, the hold's. */
  transferId: string;
  /** ISO 8601 time the ledger committed this step (the start of the event-to-balance lag). */
  createdAt: string;
  entries: Entry[];
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export const INT8_MIN = -(2n ** 63n);
export const INT8_MAX = 2n ** 63n - 1n;
/** The overdraft limit of settlement accounts: unbounded. Never added to a balance. */
export const UNBOUNDED_OVERDRAFT = INT8_MAX;
/** Entries per event or per ledger page the projection accepts at once. */
export const ENTRIES_PER_BATCH_MAX = 1000;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const signedPattern = /^-?(0|[1-9][0-9]{0,18})$/;
const unsignedPattern = /^(0|[1-9][0-9]{0,18})$/;
const sequencePattern = /^[1-9][0-9]{0,18}$/;
const currencyPattern = /^[A-Z]{3}$/;
const ownerIdLengthMax = 200;

export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function signed(value: unknown): bigint | undefined {
  if (typeof value !== 'string' || !signedPattern.test(value)) return undefined;
  const n = BigInt(value);
  return n >= INT8_MIN && n <= INT8_MAX ? n : undefined;
}

function unsigned(value: unknown): bigint | undefined {
  if (typeof value !== 'string' || !unsignedPattern.test(value)) return undefined;
  const n = BigInt(value);
  return n <= INT8_MAX ? n : undefined;
}

function sequenceOf(value: unknown): bigint | undefined {
  if (typeof value !== 'string' || !sequencePattern.test(value)) return undefined;
  const n = BigInt(value);
  return n <= INT8_MAX ? n : undefined;
}

function timestamp(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

const absent = (value: unknown) => value === undefined || value === null;

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/**
 * One entry. Its own `transferId` names its transfer when it is a UUID; otherwise `transferId` (the
 * event's, or null for a ledger listing that does not name it). `pendingAmount` and `pendingAfter`
 * are absent on entries written before holds: no change to the reservation, nothing to check.
 */
export function parseEntry(raw: unknown, transferId: string | null): Parsed<Entry> {
  if (!isRecord(raw)) return fail('entry is not an object');
  const { accountId, currency } = raw;
  if (typeof accountId !== 'string' || !isUuid(accountId)) return fail('entry.accountId is not a UUID');
  if (typeof currency !== 'string' || !currencyPattern.test(currency)) return fail('entry.currency is not an ISO 4217 code');
  const amount = signed(raw.amount);
  if (amount === undefined) return fail('entry.amount is not a signed integer string');
  const balanceAfter = signed(raw.balanceAfter);
  if (balanceAfter === undefined) return fail('entry.balanceAfter is not a signed integer string');
  const pendingAmount = absent(raw.pendingAmount) ? 0n : signed(raw.pendingAmount);
  if (pendingAmount === undefined) return fail('entry.pendingAmount is not a signed integer string');
  const pendingAfter = absent(raw.pendingAfter) ? null : signed(raw.pendingAfter);
  if (pendingAfter === undefined) return fail('entry.pendingAfter is not a signed integer string');
  const sequence = sequenceOf(raw.sequence);
  if (sequence === undefined) return fail('entry.sequence is not a positive integer string');
  const createdAt = timestamp(raw.createdAt);
  if (createdAt === undefined) return fail('entry.createdAt is not a timestamp');
  const own = typeof raw.transferId === 'string' && isUuid(raw.transferId) ? raw.transferId.toLowerCase() : transferId;
  return { ok: true, value: { accountId: accountId.toLowerCase(), currency, amount, balanceAfter, pendingAmount, pendingAfter, sequence, createdAt, transferId: own } };
}

function parseEntries(id: unknown, time: unknown, rawEntries: unknown, what: string): Parsed<TransactionEntries> {
  if (typeof id !== 'string' || !isUuid(id)) return fail(`${what}.id is not a UUID`);
  if (!Array.isArray(rawEntries) || rawEntries.length === 0) return fail('entries are missing');
  if (rawEntries.length > ENTRIES_PER_BATCH_MAX) return fail('too many entries');
  const entries: Entry[] = [];
  for (const raw of rawEntries) {
    const parsed = parseEntry(raw, id.toLowerCase());
    if (!parsed.ok) return parsed;
    entries.push(parsed.value);
  }
  // Only the lag metric reads the event's time: an event without one falls back to its entries'.
  const createdAt = timestamp(time) ?? entries[0]!.createdAt;
  return { ok: true, value: { transferId: id.toLowerCase(), createdAt, entries } };
}

/** `transaction.created` data: the transfer id and its entries. */
export function parseTransactionCreated(data: unknown): Parsed<TransactionEntries> {
  if (!isRecord(data) || !isRecord(data.transfer)) return fail('transfer is missing');
  return parseEntries(data.transfer.id, data.transfer.createdAt, data.entries, 'transfer');
}

/**
 * `transaction.hold_created|hold_posted|hold_voided|hold_expired` data (`HoldChanged`): the hold id
 * and the entries of this step. Its time is when the hold finished, or was created.
 */
export function parseHoldChanged(data: unknown): Parsed<TransactionEntries> {
  if (!isRecord(data) || !isRecord(data.hold)) return fail('hold is missing');
  return parseEntries(data.hold.id, data.hold.finishedAt ?? data.hold.createdAt, data.entries, 'hold');
}

/** `account.opened` data: who owns the account, in which currency it counts, how far it may go below zero. */
export function parseAccountOpened(data: unknown): Parsed<AccountOpening> {
  if (!isRecord(data)) return fail('data is not an object');
  const { accountId, ownerId, currency } = data;
  if (typeof accountId !== 'string' || !isUuid(accountId)) return fail('accountId is not a UUID');
  if (typeof ownerId !== 'string' || ownerId === '' || ownerId.length > ownerIdLengthMax) return fail('ownerId is missing');
  if (typeof currency !== 'string' || !currencyPattern.test(currency)) return fail('currency is not an ISO 4217 code');
  const overdraftLimit = unsigned(data.overdraftLimit);
  if (overdraftLimit === undefined) return fail('overdraftLimit is not an unsigned integer string');
  const createdAt = timestamp(data.createdAt);
  if (createdAt === undefined) return fail('createdAt is not a timestamp');
  return { ok: true, value: { accountId: accountId.toLowerCase(), ownerId, currency, overdraftLimit, createdAt } };
}

/** `account.limits_changed` data: the account's overdraft limit from `changedAt` on (the tier is not this service's). */
export function parseLimitsChanged(data: unknown): Parsed<LimitsChange> {
  if (!isRecord(data)) return fail('data is not an object');
  const { accountId } = data;
  if (typeof accountId !== 'string' || !isUuid(accountId)) return fail('accountId is not a UUID');
  const overdraftLimit = unsigned(data.overdraftLimit);
  if (overdraftLimit === undefined) return fail('overdraftLimit is not an unsigned integer string');
  const changedAt = timestamp(data.changedAt);
  if (changedAt === undefined) return fail('changedAt is not a timestamp');
  return { ok: true, value: { accountId: accountId.toLowerCase(), overdraftLimit, changedAt } };
}
