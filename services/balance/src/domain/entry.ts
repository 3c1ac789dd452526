// Parsing of event data into the domain's types. Pure: strings in, bigints out, or a reason.
// Amounts arrive as digit strings (signed for entries) and must fit PostgreSQL's bigint.

/** One ledger entry as the balance projection applies it. */
export interface Entry {
  accountId: string;
  currency: string;
  /** Signed minor units: negative for a debit, positive for a credit. */
  amount: bigint;
  balanceAfter: bigint;
  /** Per-account sequence: 1 for the account's first entry, then +1 with each entry. */
  sequence: bigint;
  /** ISO 8601 time the ledger wrote the entry. */
  createdAt: string;
  /** The transfer the entry belongs to; null when the ledger's entry listing does not carry it. */
  transferId: string | null;
}

export interface AccountOpening {
  accountId: string;
  ownerId: string;
  currency: string;
  createdAt: string;
}

export interface TransactionEntries {
  transferId: string;
  /** ISO 8601 time the ledger committed the transfer (the start of the event-to-balance lag). */
  createdAt: string;
  entries: Entry[];
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

export const INT8_MIN = -(2n ** 63n);
export const INT8_MAX = 2n ** 63n - 1n;
/** Entries per event or per ledger page the projection accepts at once. */
export const ENTRIES_PER_BATCH_MAX = 1000;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const signedPattern = /^-?(0|[1-9][0-9]{0,18})$/;
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

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

export function parseEntry(raw: unknown, transferId: string | null): Parsed<Entry> {
  if (!isRecord(raw)) return fail('entry is not an object');
  const { accountId, currency } = raw;
  if (typeof accountId !== 'string' || !isUuid(accountId)) return fail('entry.accountId is not a UUID');
  if (typeof currency !== 'string' || !currencyPattern.test(currency)) return fail('entry.currency is not an ISO 4217 code');
  const amount = signed(raw.amount);
  if (amount === undefined) return fail('entry.amount is not a signed integer string');
  const balanceAfter = signed(raw.balanceAfter);
  if (balanceAfter === undefined) return fail('entry.balanceAfter is not a signed integer string');
  const sequence = sequenceOf(raw.sequence);
  if (sequence === undefined) return fail('entry.sequence is not a positive integer string');
  const createdAt = timestamp(raw.createdAt);
  if (createdAt === undefined) return fail('entry.createdAt is not a timestamp');
  return { ok: true, value: { accountId: accountId.toLowerCase(), currency, amount, balanceAfter, sequence, createdAt, transferId } };
}

/** `transaction.created` data: the transfer id and its entries. */
export function parseTransactionCreated(data: unknown): Parsed<TransactionEntries> {
  if (!isRecord(data) || !isRecord(data.transfer)) return fail('transfer is missing');
  const transferId = data.transfer.id;
  if (typeof transferId !== 'string' || !isUuid(transferId)) return fail('transfer.id is not a UUID');
  if (!Array.isArray(data.entries) || data.entries.length === 0) return fail('entries are missing');
  if (data.entries.length > ENTRIES_PER_BATCH_MAX) return fail('too many entries');
  const entries: Entry[] = [];
  for (const raw of data.entries) {
    const parsed = parseEntry(raw, transferId.toLowerCase());
    if (!parsed.ok) return parsed;
    entries.push(parsed.value);
  }
  // Only the lag metric reads the transfer's time: an event without one falls back to its entries'.
  const createdAt = timestamp(data.transfer.createdAt) ?? entries[0]!.createdAt;
  return { ok: true, value: { transferId: transferId.toLowerCase(), createdAt, entries } };
}

/** `account.opened` data: who owns the account and in which currency it counts. */
export function parseAccountOpened(data: unknown): Parsed<AccountOpening> {
  if (!isRecord(data)) return fail('data is not an object');
  const { accountId, ownerId, currency } = data;
  if (typeof accountId !== 'string' || !isUuid(accountId)) return fail('accountId is not a UUID');
  if (typeof ownerId !== 'string' || ownerId === '' || ownerId.length > ownerIdLengthMax) return fail('ownerId is missing');
  if (typeof currency !== 'string' || !currencyPattern.test(currency)) return fail('currency is not an ISO 4217 code');
  const createdAt = timestamp(data.createdAt);
  if (createdAt === undefined) return fail('createdAt is not a timestamp');
  return { ok: true, value: { accountId: accountId.toLowerCase(), ownerId, currency, createdAt } };
}
