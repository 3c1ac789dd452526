// The ledger's SQL. Every function takes the Queryable it runs on, so callers choose the transaction.
import type { Queryable } from '@wallet/kit';
import type { LedgerAccount, Posting } from '../domain/transfer.ts';
import type { LedgerHold } from '../domain/hold.ts';

const S = 'ledger';

interface AccountRow {
  id: string;
  owner_id: string;
  currency: string;
  type: 'user' | 'settlement';
  status: 'active' | 'frozen' | 'closed';
  overdraft_limit: bigint | null;
  tier: string;
  balance: bigint;
  pending: bigint;
  sequence: bigint;
}

const toAccount = (r: AccountRow): LedgerAccount => ({
  id: r.id,
  ownerId: r.owner_id,
  currency: r.currency,
  type: r.type,
  status: r.status,
  overdraftLimit: r.overdraft_limit,
  tier: r.tier,
  balance: r.balance,
  pending: r.pending,
  sequence: r.sequence,
});

const accountColumns = 'id, owner_id, currency, type, status, overdraft_limit, tier, balance, pending, sequence';

export async function findAccount(q: Queryable, id: string): Promise<LedgerAccount | undefined> {
  const { rows } = await q.query<AccountRow>(`SELECT ${accountColumns} FROM ${S}.accounts WHERE id = $1`, [id]);
  return rows[0] && toAccount(rows[0]);
}

/** Locks the accounts in id order (one global order: no deadlocks between transfers). */
export async function lockAccounts(q: Queryable, ids: readonly string[]): Promise<Map<string, LedgerAccount>> {
  const sorted = [...new Set(ids)].sort();
  const { rows } = await q.query<AccountRow>(`SELECT ${accountColumns} FROM ${S}.accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [sorted]);
  return new Map(rows.map((r) => [r.id, toAccount(r)]));
}

/** What the account service says about an account; the ledger adds balance, pending and sequence. */
export type AccountFacts = Omit<LedgerAccount, 'balance' | 'pending' | 'sequence'>;

/** Records an account the ledger has not seen yet; a known account keeps its balance and sequence. */
export async function insertAccount(q: Queryable, a: AccountFacts): Promise<void> {
  await q.query(
    `INSERT INTO ${S}.accounts (id, owner_id, currency, type, status, overdraft_limit, tier) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
    [a.id, a.ownerId, a.currency, a.type, a.status, a.overdraftLimit, a.tier],
  );
}

/** Applies an overdraft/tier change unless a later one was applied already; false when the account is unknown. */
export async function setAccountLimits(q: Queryable, id: string, overdraftLimit: bigint, tier: string, changedAt: Date): Promise<boolean> {
  const { rows } = await q.query(
    `UPDATE ${S}.accounts SET
       overdraft_limit = CASE WHEN type = 'settlement' OR (limits_changed_at IS NOT NULL AND limits_changed_at > $4) THEN overdraft_limit ELSE $2 END,
       tier = CASE WHEN limits_changed_at IS NOT NULL AND limits_changed_at > $4 THEN tier ELSE $3 END,
       limits_changed_at = GREATEST(limits_changed_at, $4), updated_at = now()
     WHERE id = $1 RETURNING id`,
    [id, overdraftLimit, tier, changedAt],
  );
  return rows.length === 1;
}

/** Applies a status change unless a later one was applied already; false when the account is unknown. */
export async function setAccountStatus(q: Queryable, id: string, status: string, changedAt: Date): Promise<boolean> {
  const { rows } = await q.query(
    `UPDATE ${S}.accounts SET status = CASE WHEN status_changed_at IS NULL OR status_changed_at <= $3 THEN $2 ELSE status END,
            status_changed_at = GREATEST(status_changed_at, $3), updated_at = now()
     WHERE id = $1 RETURNING id`,
    [id, status, changedAt],
  );
  return rows.length === 1;
}

export interface TransferRecord {
  id: string;
  kind: 'transfer' | 'deposit' | 'withdrawal' | 'capture' | 'reversal';
  fromAccountId: string;
  toAccountId: string;
  amount: bigint;
  currency: string;
  description: string | null;
  reference: string | null;
  metadata: Record<string, string>;
  initiatedBy: string;
  createdAt: Date;
  holdId: string | null;
  reversalOf: string | null;
}

export interface BalanceChange {
  id: string;
  balance: bigint;
  pending: bigint;
  sequence: bigint;
  /** The sequence the row had when it was locked: a guard against writing over another change. */
  sequenceBefore: bigint;
}

export interface EntryRecord extends Posting {
  transferId: string;
  currency: string;
  createdAt: Date;
}

export interface GroupWrite {
  at: Date;
  balances: readonly BalanceChange[];
  transfers: readonly TransferRecord[];
  entries: readonly EntryRecord[];
  outcomes: readonly (IdempotencyKey & { status: number; body: unknown })[];
  events: readonly unknown[];
  /** New holds, and holds that left `pending`. */
  holdsCreated: readonly LedgerHold[];
  holdsFinished: readonly LedgerHold[];
  /** Transfers whose reversed total grew: the new total. */
  reversed: readonly { id: string; reversedAmount: bigint }[];
}

/**
 * Everything a group decided, in ONE statement: final balances (guarded by the sequence each row
 * had when locked), transfers, entries, the stored responses and the outbox events.
 */
export async function writeGroup(q: Queryable, w: GroupWrite): Promise<void> {
  const iso = w.at.toISOString();
  const { rows } = await q.query<{ balances: bigint }>(
    `WITH b AS (
       UPDATE ${S}.accounts a SET balance = c.balance, pending = c.pending, sequence = c.sequence, updated_at = $1
       FROM unnest($2::uuid[], $3::bigint[], $4::bigint[], $5::bigint[], $27::bigint[]) AS c(id, balance, sequence, sequence_before, pending)
       WHERE a.id = c.id AND a.sequence = c.sequence_before RETURNING 1),
     t AS (
       INSERT INTO ${S}.transfers (id, kind, from_account_id, to_account_id, amount, currency, description, initiated_by, created_at, reference, metadata, hold_id, reversal_of)
       SELECT id, kind, f, t, amount, currency, description, initiated_by, $1, reference, metadata, hold_id, reversal_of
       FROM unnest($6::uuid[], $7::text[], $8::uuid[], $9::uuid[], $10::bigint[], $11::text[], $12::text[], $13::text[], $25::text[], $26::json[], $28::uuid[], $29::uuid[])
         AS x(id, kind, f, t, amount, currency, description, initiated_by, reference, metadata, hold_id, reversal_of)),
     e AS (
       INSERT INTO ${S}.entries (account_id, sequence, transfer_id, amount, balance_after, currency, created_at, pending_amount, pending_after)
       SELECT account_id, sequence, transfer_id, amount, balance_after, currency, $1, pending_amount, pending_after
       FROM unnest($14::uuid[], $15::bigint[], $16::uuid[], $17::bigint[], $18::bigint[], $19::text[], $30::bigint[], $31::bigint[])
         AS x(account_id, sequence, transfer_id, amount, balance_after, currency, pending_amount, pending_after)),
     i AS (
       UPDATE ${S}.idempotency i SET status = o.status, body = o.body
       FROM unnest($20::text[], $21::text[], $22::int[], $23::json[]) AS o(caller, key, status, body)
       WHERE i.caller = o.caller AND i.key = o.key),
     o AS (
       -- the kit's outbox table (appendOutbox), written here to keep the group to one statement
       INSERT INTO ${S}.outbox (event) SELECT unnest($24::jsonb[]))
     SELECT count(*)::bigint AS balances FROM b`,
    [
      iso,
      w.balances.map((c) => c.id),
      w.balances.map((c) => c.balance.toString()),
      w.balances.map((c) => c.sequence.toString()),
      w.balances.map((c) => c.sequenceBefore.toString()),
      w.transfers.map((t) => t.id),
      w.transfers.map((t) => t.kind),
      w.transfers.map((t) => t.fromAccountId),
      w.transfers.map((t) => t.toAccountId),
      w.transfers.map((t) => t.amount.toString()),
      w.transfers.map((t) => t.currency),
      w.transfers.map((t) => t.description),
      w.transfers.map((t) => t.initiatedBy),
      w.entries.map((e) => e.accountId),
      w.entries.map((e) => e.sequence.toString()),
      w.entries.map((e) => e.transferId),
      w.entries.map((e) => e.amount.toString()),
      w.entries.map((e) => e.balanceAfter.toString()),
      w.entries.map((e) => e.currency),
      w.outcomes.map((o) => o.caller),
      w.outcomes.map((o) => o.key),
      w.outcomes.map((o) => o.status),
      w.outcomes.map((o) => JSON.stringify(o.body)),
      w.events.map((e) => JSON.stringify(e)),
      w.transfers.map((t) => t.reference),
      w.transfers.map((t) => JSON.stringify(t.metadata)),
      w.balances.map((c) => c.pending.toString()),
      w.transfers.map((t) => t.holdId),
      w.transfers.map((t) => t.reversalOf),
      w.entries.map((e) => e.pendingAmount.toString()),
      w.entries.map((e) => e.pendingAfter.toString()),
    ],
  );
  const updated = Number(rows[0]?.balances ?? 0n);
  if (updated !== w.balances.length) throw new Error(`balances moved under their locks (${updated} of ${w.balances.length} updated)`);
  if (w.holdsCreated.length + w.holdsFinished.length + w.reversed.length > 0) await writeHoldsAndReversals(q, w);
}

/** Holds and reversal totals: written only by groups that have them, so plain transfers pay nothing. */
async function writeHoldsAndReversals(q: Queryable, w: GroupWrite): Promise<void> {
  const c = w.holdsCreated;
  const f = w.holdsFinished;
  const { rows } = await q.query<{ finished: bigint; reversed: bigint }>(
    `WITH h AS (
       INSERT INTO ${S}.holds (id, status, from_account_id, to_account_id, amount, currency, expires_at, description, reference, metadata, initiated_by, created_at)
       SELECT id, 'pending', f, t, amount, currency, expires_at, description, reference, metadata, initiated_by, created_at
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::timestamptz[], $7::text[], $8::text[], $9::json[], $10::text[], $11::timestamptz[])
         AS x(id, f, t, amount, currency, expires_at, description, reference, metadata, initiated_by, created_at)),
     u AS (
       UPDATE ${S}.holds h SET status = x.status, posted_amount = x.posted_amount, finished_at = x.finished_at, transfer_id = x.transfer_id
       FROM unnest($12::uuid[], $13::text[], $14::bigint[], $15::timestamptz[], $16::uuid[]) AS x(id, status, posted_amount, finished_at, transfer_id)
       WHERE h.id = x.id AND h.status = 'pending' RETURNING 1),
     r AS (
       UPDATE ${S}.transfers t SET reversed_amount = x.reversed_amount
       FROM unnest($17::uuid[], $18::bigint[]) AS x(id, reversed_amount) WHERE t.id = x.id RETURNING 1)
     SELECT (SELECT count(*) FROM u)::bigint AS finished, (SELECT count(*) FROM r)::bigint AS reversed`,
    [
      c.map((h) => h.id),
      c.map((h) => h.fromAccountId),
      c.map((h) => h.toAccountId),
      c.map((h) => h.amount.toString()),
      c.map((h) => h.currency),
      c.map((h) => h.expiresAt?.toISOString() ?? null),
      c.map((h) => h.description),
      c.map((h) => h.reference),
      c.map((h) => JSON.stringify(h.metadata)),
      c.map((h) => h.initiatedBy),
      c.map((h) => h.createdAt.toISOString()),
      f.map((h) => h.id),
      f.map((h) => h.status),
      f.map((h) => h.postedAmount.toString()),
      f.map((h) => h.finishedAt!.toISOString()),
      f.map((h) => h.transferId),
      w.reversed.map((r) => r.id),
      w.reversed.map((r) => r.reversedAmount.toString()),
    ],
  );
  // Holds and transfers are read under their accounts' locks; a mismatch means that did not hold.
  if (Number(rows[0]!.finished) !== f.length || Number(rows[0]!.reversed) !== w.reversed.length) throw new Error('holds or transfers changed under their locks');
}

export interface StoredTransfer extends TransferRecord {
  reversedAmount: bigint;
  /** The source account's entry for this transfer. */
  sourceBalanceAfter: bigint;
  sourceSequence: bigint;
}

interface TransferRow {
  id: string;
  kind: TransferRecord['kind'];
  from_account_id: string;
  to_account_id: string;
  amount: bigint;
  currency: string;
  description: string | null;
  reference: string | null;
  metadata: Record<string, string>;
  initiated_by: string;
  created_at: Date;
  hold_id: string | null;
  reversal_of: string | null;
  reversed_amount: bigint;
  source_balance_after: bigint;
  source_sequence: bigint;
}

const transferSelect = `
  SELECT t.id, t.kind, t.from_account_id, t.to_account_id, t.amount, t.currency, t.description, t.reference, t.metadata, t.initiated_by, t.created_at,
         t.hold_id, t.reversal_of, t.reversed_amount,
         s.balance_after AS source_balance_after, s.sequence AS source_sequence
  FROM ${S}.transfers t
  JOIN ${S}.entries s ON s.transfer_id = t.id AND s.account_id = t.from_account_id`;

const toTransfer = (r: TransferRow): StoredTransfer => ({
  id: r.id,
  kind: r.kind,
  fromAccountId: r.from_account_id,
  toAccountId: r.to_account_id,
  amount: r.amount,
  currency: r.currency.trim(),
  description: r.description,
  reference: r.reference,
  metadata: r.metadata,
  initiatedBy: r.initiated_by,
  createdAt: r.created_at,
  holdId: r.hold_id,
  reversalOf: r.reversal_of,
  reversedAmount: r.reversed_amount,
  sourceBalanceAfter: r.source_balance_after,
  sourceSequence: r.source_sequence,
});

export async function getTransfer(q: Queryable, id: string): Promise<StoredTransfer | undefined> {
  const { rows } = await q.query<TransferRow>(`${transferSelect} WHERE t.id = $1`, [id]);
  return rows[0] && toTransfer(rows[0]);
}

/** An account's transfers, newest first, paged by the account's entry sequence. */
export async function listTransfers(q: Queryable, accountId: string, beforeSequence: bigint | null, limit: number, reference: string | null = null) {
  const { rows } = await q.query<TransferRow & { entry_sequence: bigint }>(
    `SELECT x.*, e.sequence AS entry_sequence FROM ${S}.entries e
     JOIN LATERAL (${transferSelect} WHERE t.id = e.transfer_id) x ON true
     WHERE e.account_id = $1 AND ($2::bigint IS NULL OR e.sequence < $2) AND ($4::text IS NULL OR x.reference = $4)
     ORDER BY e.sequence DESC LIMIT $3`,
    [accountId, beforeSequence, limit, reference],
  );
  return rows.map((r) => ({ transfer: toTransfer(r), entrySequence: r.entry_sequence }));
}

export interface EntryRow {
  account_id: string;
  sequence: bigint;
  transfer_id: string;
  amount: bigint;
  balance_after: bigint;
  pending_amount: bigint;
  pending_after: bigint;
  currency: string;
  created_at: Date;
}

export async function entriesAfter(q: Queryable, accountId: string, afterSequence: bigint, limit: number): Promise<EntryRow[]> {
  const { rows } = await q.query<EntryRow>(
    `SELECT account_id, sequence, transfer_id, amount, balance_after, pending_amount, pending_after, currency, created_at FROM ${S}.entries
     WHERE account_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3`,
    [accountId, afterSequence, limit],
  );
  return rows;
}

export interface IdempotencyKey {
  caller: string;
  key: string;
}

export interface IdempotencyRecord extends IdempotencyKey {
  fingerprint: string;
  status: number;
  body: unknown;
}

export async function findIdempotency(q: Queryable, keys: readonly IdempotencyKey[]): Promise<IdempotencyRecord[]> {
  if (keys.length === 0) return [];
  const { rows } = await q.query<IdempotencyRecord>(
    `SELECT i.caller, i.key, i.fingerprint, i.status, i.body FROM ${S}.idempotency i
     JOIN unnest($1::text[], $2::text[]) AS k(caller, key) ON i.caller = k.caller AND i.key = k.key`,
    [keys.map((k) => k.caller), keys.map((k) => k.key)],
  );
  return rows;
}

/**
 * Claims keys inside the batch's transaction, in one global order so two writers cannot deadlock.
 * A key another transaction holds makes this wait until that one commits; it then counts as taken.
 * Returns the keys this transaction claimed.
 */
export async function claimIdempotency(q: Queryable, claims: readonly (IdempotencyKey & { fingerprint: string })[]): Promise<IdempotencyKey[]> {
  if (claims.length === 0) return [];
  const { rows } = await q.query<IdempotencyKey>(
    `INSERT INTO ${S}.idempotency (caller, key, fingerprint, status, body)
     SELECT caller, key, fingerprint, 0, 'null'::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS c(caller, key, fingerprint)
     ORDER BY caller, key
     ON CONFLICT DO NOTHING RETURNING caller, key`,
    [claims.map((c) => c.caller), claims.map((c) => c.key), claims.map((c) => c.fingerprint)],
  );
  return rows;
}

// Reads for the balance service's drift checks and rebuilds (internal routes only).

export interface AccountBalanceRow {
  id: string;
  owner_id: string;
  currency: string;
  type: 'user' | 'settlement';
  overdraft_limit: bigint | null;
  limits_changed_at: Date | null;
  balance: bigint;
  pending: bigint;
  sequence: bigint;
}

/** Accounts in id order after `afterId` (null: from the first), at most `limit`, with their current balance. */
export async function listAccountBalances(q: Queryable, afterId: string | null, limit: number): Promise<AccountBalanceRow[]> {
  const { rows } = await q.query<AccountBalanceRow>(
    `SELECT id, owner_id, currency, type, overdraft_limit, limits_changed_at, balance, pending, sequence FROM ${S}.accounts
     WHERE $1::uuid IS NULL OR id > $1::uuid ORDER BY id LIMIT $2`,
    [afterId, limit],
  );
  return rows;
}

export async function countAccounts(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM ${S}.accounts`);
  return Number(rows[0]?.n ?? 0n);
}

export interface BalanceAtRow {
  account_id: string;
  sequence: bigint;
  /** Null when the ledger does not know the account. */
  currency: string | null;
  current_sequence: bigint | null;
  /** The balance and reservation after the entry at `sequence`; 0 at sequence 0; null past the current sequence. */
  balance_after: bigint | null;
  pending_after: bigint | null;
}

/**
 * The balance and reservation of each account as they stood right after its entry at `sequence`,
 * and the account's current sequence, in one statement (one snapshot), in the order asked.
 */
export async function balancesAtSequences(q: Queryable, positions: ReadonlyArray<{ accountId: string; sequence: bigint }>): Promise<BalanceAtRow[]> {
  if (positions.length === 0) return [];
  const { rows } = await q.query<BalanceAtRow>(
    `SELECT k.account_id, k.sequence, a.currency, a.sequence AS current_sequence,
            CASE WHEN a.id IS NULL OR k.sequence > a.sequence THEN NULL WHEN k.sequence = 0 THEN 0 ELSE e.balance_after END AS balance_after,
            CASE WHEN a.id IS NULL OR k.sequence > a.sequence THEN NULL WHEN k.sequence = 0 THEN 0 ELSE e.pending_after END AS pending_after
     FROM unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY AS k(account_id, sequence, position)
     LEFT JOIN ${S}.accounts a ON a.id = k.account_id
     LEFT JOIN ${S}.entries e ON e.account_id = k.account_id AND e.sequence = k.sequence AND k.sequence > 0
     ORDER BY k.position`,
    [positions.map((p) => p.accountId), positions.map((p) => p.sequence.toString())],
  );
  return rows;
}
