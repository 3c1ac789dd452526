// What counts as drift, lag or a cached copy to refill: one account at a time, pure.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LedgerBalanceAt } from '../events/ledger-client.ts';
import type { CacheInspection } from '../store/balance-cache.ts';
import { checkAccount } from './compare.ts';
import type { ProjectedBalance } from './store.ts';

const accountId = '00000000-0000-4000-8000-000000000001';

const row = (over: Partial<ProjectedBalance> = {}): ProjectedBalance => ({
  accountId,
  ownerId: 'ana',
  currency: 'USD',
  posted: 700n,
  pending: 200n,
  overdraftLimit: 0n,
  limitsChangedAt: null,
  sequence: 3n,
  revision: 5n,
  updatedAt: '2025-01-01T00:00:00.000Z',
  lastEntry: { balanceAfter: 700n, pendingAfter: 200n },
  ...over,
});

const at = (sequence: bigint, balance: bigint | null, pending: bigint | null, ledgerSequence = 3n): LedgerBalanceAt => ({
  accountId,
  sequence,
  known: true,
  currency: 'USD',
  balance,
  pending,
  ledgerSequence,
});

const copyOf = (view: ProjectedBalance, version = view.revision): CacheInspection => {
  const { lastEntry: _lastEntry, ...rest } = view;
  return { state: 'present', version, view: { ...rest, revision: version } };
};

const kinds = (check: ReturnType<typeof checkAccount>) => check.drifts.map((d) => d.kind);

describe('checkAccount', () => {
  test('a row, its last entry and its cached copy that agree with the ledger: nothing to do', () => {
    const check = checkAccount({ accountId, row: row(), cache: copyOf(row()), atRow: at(3n, 700n, 200n) });
    assert.deepEqual(kinds(check), []);
    assert.equal(check.refillCache, false);
    assert.equal(check.lag, 0n);
  });

  test('behind the ledger but right at its own sequence: lag, not drift', () => {
    const check = checkAccount({ accountId, row: row(), cache: copyOf(row()), atRow: at(3n, 700n, 200n, 8n) });
    assert.deepEqual(kinds(check), []);
    assert.equal(check.lag, 5n);
    const missing = checkAccount({ accountId, row: undefined, cache: { state: 'absent' }, atRow: at(0n, 0n, 0n, 4n) });
    assert.deepEqual([kinds(missing), missing.lag, missing.refillCache], [[], 4n, false]);
  });

  test('posted or pending off, a row past the ledger, another currency, a wrong or missing last entry: drift', () => {
    assert.deepEqual(kinds(checkAccount({ accountId, row: row({ posted: 701n }), cache: { state: 'absent' }, atRow: at(3n, 700n, 200n) })), ['balance']);
    assert.deepEqual(kinds(checkAccount({ accountId, row: row({ pending: 0n, lastEntry: { balanceAfter: 700n, pendingAfter: 0n } }), cache: { state: 'absent' }, atRow: at(3n, 700n, 200n) })), ['balance', 'history']);
    assert.deepEqual(kinds(checkAccount({ accountId, row: row({ sequence: 4n }), cache: { state: 'absent' }, atRow: at(4n, null, null) })), ['ahead']);
    assert.deepEqual(kinds(checkAccount({ accountId, row: row({ currency: 'EUR' }), cache: { state: 'absent' }, atRow: at(3n, 700n, 200n) })), ['currency']);
    assert.deepEqual(kinds(checkAccount({ accountId, row: row({ lastEntry: null }), cache: { state: 'absent' }, atRow: at(3n, 700n, 200n) })), ['history']);
    // An entry recorded before holds says nothing of the reservation: only its balance is compared.
    assert.deepEqual(kinds(checkAccount({ accountId, row: row({ lastEntry: { balanceAfter: 700n, pendingAfter: null } }), cache: { state: 'absent' }, atRow: at(3n, 700n, 200n) })), []);
  });

  test('a row with entries the ledger does not know; a zero row it does not know yet is fine', () => {
    const unknown: LedgerBalanceAt = { accountId, sequence: 3n, known: false, currency: null, balance: null, pending: null, ledgerSequence: null };
    const check = checkAccount({ accountId, row: row(), cache: { state: 'absent' }, atRow: unknown });
    assert.deepEqual([kinds(check), check.lag], [['unknown_account'], null]);
    const zero = checkAccount({ accountId, row: row({ sequence: 0n, posted: 0n, pending: 0n, lastEntry: null }), cache: { state: 'absent' }, atRow: { ...unknown, sequence: 0n } });
    assert.deepEqual(kinds(zero), []);
  });

  test('cached copies: missing or older is refilled; same revision other content, a higher version, garbage, no row is drift', () => {
    const stored = row();
    assert.equal(checkAccount({ accountId, row: stored, cache: { state: 'absent' }, atRow: at(3n, 700n, 200n) }).refillCache, true);
    const older = copyOf(row({ sequence: 2n, posted: 900n, pending: 0n }), 4n);
    const refilled = checkAccount({ accountId, row: stored, cache: older, atRow: at(3n, 700n, 200n), atCache: at(2n, 900n, 0n) });
    assert.deepEqual([kinds(refilled), refilled.refillCache], [[], true]);
    // An older copy that was never the ledger's balance at its sequence is drift too.
    assert.deepEqual(kinds(checkAccount({ accountId, row: stored, cache: older, atRow: at(3n, 700n, 200n), atCache: at(2n, 901n, 0n) })), ['cache']);
    assert.deepEqual(kinds(checkAccount({ accountId, row: stored, cache: copyOf(row({ posted: 1n })), atRow: at(3n, 700n, 200n) })), ['cache']);
    assert.deepEqual(kinds(checkAccount({ accountId, row: stored, cache: copyOf(stored, 6n), atRow: at(3n, 700n, 200n) })), ['cache']);
    assert.deepEqual(kinds(checkAccount({ accountId, row: stored, cache: { state: 'present', version: null, view: undefined }, atRow: at(3n, 700n, 200n) })), ['cache']);
    assert.deepEqual(kinds(checkAccount({ accountId, row: stored, cache: { state: 'present', version: 5n, view: undefined }, atRow: at(3n, 700n, 200n) })), ['cache']);
    assert.deepEqual(kinds(checkAccount({ accountId, row: undefined, cache: copyOf(stored), atRow: at(0n, 0n, 0n) })), ['cache']);
    // A copy in an old format below the row's revision is simply replaced.
    assert.equal(checkAccount({ accountId, row: stored, cache: { state: 'present', version: 2n, view: undefined }, atRow: at(3n, 700n, 200n) }).refillCache, true);
    // The cache did not answer: nothing is said about it.
    const down = checkAccount({ accountId, row: stored, cache: { state: 'unavailable' }, atRow: at(3n, 700n, 200n) });
    assert.deepEqual([kinds(down), down.refillCache], [[], false]);
  });
});
