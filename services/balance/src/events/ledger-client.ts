// Reads missing entries from the ledger (the transaction service), the source of truth for repairs.
import type { ServiceClient } from '@wallet/kit';
import { ENTRIES_PER_BATCH_MAX, isUuid, parseEntry, UNBOUNDED_OVERDRAFT, type Entry } from '../domain/entry.ts';

export interface LedgerClient {
  /** Entries of one account with a sequence above `afterSequence`, in sequence order, at most `limit`. */
  entriesAfter(accountId: string, afterSequence: bigint, limit: number): Promise<Entry[]>;
}

/** One account as the ledger holds it now (`GET /internal/balances`). */
export interface LedgerAccountBalance {
  accountId: string;
  ownerId: string;
  currency: string;
  /** `UNBOUNDED_OVERDRAFT` for settlement accounts (the ledger's null). */
  overdraftLimit: bigint;
  /** When the limit held was set; null when only the opening set it. */
  limitsChangedAt: string | null;
  balance: bigint;
  pending: bigint;
  sequence: bigint;
}

/** The ledger's answer for one (account, sequence) (`POST /internal/balances/at`). */
export interface LedgerBalanceAt {
  accountId: string;
  sequence: bigint;
  /** False: the ledger has no such account (then every other field is null). */
  known: boolean;
  currency: string | null;
  /** Posted balance and reservation right after the entry at `sequence` (0 and 0 at sequence 0); null past the ledger's current sequence. */
  balance: bigint | null;
  pending: bigint | null;
  /** The account's current sequence in the ledger. */
  ledgerSequence: bigint | null;
}

/** Positions per `balancesAt` call, accounts per `listBalances` page (the ledger's limits). */
export const LEDGER_BALANCES_MAX = 1000;

/** What drift checks and rebuilds read of the ledger, besides the entries. */
export interface LedgerReader extends LedgerClient {
  /** Accounts after `afterId` in id order, at most `limit`; `total` (every account) on the first page. */
  listBalances(afterId: string | null, limit: number): Promise<{ accounts: LedgerAccountBalance[]; total?: number }>;
  /** The ledger's balance of each account at each sequence, in the order asked. */
  balancesAt(positions: ReadonlyArray<{ accountId: string; sequence: bigint }>): Promise<LedgerBalanceAt[]>;
}

const signedDigits = /^-?(0|[1-9][0-9]{0,18})$/;
const unsignedDigits = /^(0|[1-9][0-9]{0,18})$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const malformed = (what: string) => new Error(`the transaction service sent a malformed ${what}`);

function amount(value: unknown, what: string, pattern = signedDigits): bigint {
  if (typeof value !== 'string' || !pattern.test(value)) throw malformed(what);
  return BigInt(value);
}

function nullableAmount(value: unknown, what: string, pattern = signedDigits): bigint | null {
  return value === null ? null : amount(value, what, pattern);
}

function parseAccountBalance(raw: unknown): LedgerAccountBalance {
  if (!isObject(raw)) throw malformed('balance listing');
  const { accountId, ownerId, currency, limitsChangedAt } = raw;
  if (typeof accountId !== 'string' || !isUuid(accountId)) throw malformed('balance listing (accountId)');
  if (typeof ownerId !== 'string' || typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw malformed(`balance listing for ${accountId}`);
  if (limitsChangedAt !== null && (typeof limitsChangedAt !== 'string' || Number.isNaN(Date.parse(limitsChangedAt)))) throw malformed(`balance listing for ${accountId}`);
  return {
    accountId: accountId.toLowerCase(),
    ownerId,
    currency,
    overdraftLimit: nullableAmount(raw.overdraftLimit, `overdraft limit of ${accountId}`, unsignedDigits) ?? UNBOUNDED_OVERDRAFT,
    limitsChangedAt: limitsChangedAt === null ? null : new Date(limitsChangedAt).toISOString(),
    balance: amount(raw.balance, `balance of ${accountId}`),
    pending: amount(raw.pending, `pending of ${accountId}`),
    sequence: amount(raw.sequence, `sequence of ${accountId}`, unsignedDigits),
  };
}

function parseBalanceAt(raw: unknown): LedgerBalanceAt {
  if (!isObject(raw) || typeof raw.accountId !== 'string' || !isUuid(raw.accountId) || typeof raw.known !== 'boolean') throw malformed('balance at a sequence');
  const { accountId, currency } = raw;
  if (currency !== null && (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency))) throw malformed(`currency of ${accountId}`);
  return {
    accountId: accountId.toLowerCase(),
    sequence: amount(raw.sequence, `sequence of ${accountId}`, unsignedDigits),
    known: raw.known,
    currency,
    balance: nullableAmount(raw.balance, `balance of ${accountId}`),
    pending: nullableAmount(raw.pending, `pending of ${accountId}`),
    ledgerSequence: nullableAmount(raw.ledgerSequence, `sequence of ${accountId}`, unsignedDigits),
  };
}

export function createLedgerClient(client: ServiceClient): LedgerReader {
  return {
    async entriesAfter(accountId, afterSequence, limit) {
      if (!Number.isInteger(limit) || limit < 1 || limit > ENTRIES_PER_BATCH_MAX) throw new Error(`bad ledger page size ${limit}`);
      const path = `/internal/accounts/${encodeURIComponent(accountId)}/entries?afterSequence=${afterSequence}&limit=${limit}`;
      const response = await client.get<unknown>(path);
      if (response.status !== 200) throw new Error(`the transaction service answered ${response.status} to ${path}`);
      const body = response.body;
      const raw = typeof body === 'object' && body !== null && 'entries' in body ? body.entries : undefined;
      if (!Array.isArray(raw) || raw.length > limit) throw new Error(`the transaction service sent a malformed entry page for ${accountId}`);
      return raw.map((item: unknown) => {
        // Each entry names its transfer (or hold) when the listing says it, and its reservation
        // (pendingAmount, pendingAfter) the same way as in the events.
        const parsed = parseEntry(item, null);
        if (!parsed.ok) throw new Error(`the transaction service sent a malformed entry for ${accountId}: ${parsed.reason}`);
        return parsed.value;
      });
    },

    async listBalances(afterId, limit) {
      if (!Number.isInteger(limit) || limit < 1 || limit > LEDGER_BALANCES_MAX) throw new Error(`bad ledger page size ${limit}`);
      const path = `/internal/balances?limit=${limit}${afterId === null ? '' : `&afterId=${encodeURIComponent(afterId)}`}`;
      const response = await client.get<unknown>(path);
      if (response.status !== 200) throw new Error(`the transaction service answered ${response.status} to ${path}`);
      const body = response.body;
      if (!isObject(body) || !Array.isArray(body.accounts) || body.accounts.length > limit) throw malformed('balance listing');
      const total = body.total;
      if (total !== undefined && !Number.isSafeInteger(total)) throw malformed('balance listing (total)');
      const accounts = body.accounts.map(parseAccountBalance);
      return total === undefined ? { accounts } : { accounts, total: total as number };
    },

    async balancesAt(positions) {
      if (positions.length === 0) return [];
      if (positions.length > LEDGER_BALANCES_MAX) throw new Error(`at most ${LEDGER_BALANCES_MAX} positions per call, not ${positions.length}`);
      const path = '/internal/balances/at';
      // Only reads: retried like a GET.
      const response = await client.query<unknown>(path, { positions: positions.map((p) => ({ accountId: p.accountId, sequence: p.sequence.toString() })) });
      if (response.status !== 200) throw new Error(`the transaction service answered ${response.status} to ${path}`);
      const body = response.body;
      if (!isObject(body) || !Array.isArray(body.balances) || body.balances.length !== positions.length) throw malformed('answer to balances at sequences');
      const answers = body.balances.map(parseBalanceAt);
      // One answer per position, in the order asked.
      answers.forEach((answer, i) => {
        const asked = positions[i]!;
        if (answer.accountId !== asked.accountId.toLowerCase() || answer.sequence !== asked.sequence) throw malformed('answer to balances at sequences (order)');
      });
      return answers;
    },
  };
}
