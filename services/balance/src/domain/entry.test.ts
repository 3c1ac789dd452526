import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAccountOpened, parseEntry, parseHoldChanged, parseLimitsChanged, parseTransactionCreated } from './entry.ts';

const accountId = '6F1C2D3E-4A5B-4C6D-8E7F-90A1B2C3D4E5';
const transferId = '11111111-2222-4333-8444-555555555555';
const good = { accountId, currency: 'USD', amount: '-1050', balanceAfter: '0', sequence: '7', createdAt: '2025-03-01T10:00:00Z' };

test('an entry parses to bigints, with its account id lower-cased and its time normalised', () => {
  assert.deepEqual(parseEntry(good, transferId), {
    ok: true,
    value: {
      accountId: accountId.toLowerCase(),
      currency: 'USD',
      amount: -1050n,
      balanceAfter: 0n,
      pendingAmount: 0n,
      pendingAfter: null,
      sequence: 7n,
      createdAt: '2025-03-01T10:00:00.000Z',
      transferId,
    },
  });
});

test('entries with floats, exponents, overflow, bad sequences or bad ids are refused', () => {
  const bad: Record<string, unknown>[] = [
    { amount: '10.5' },
    { amount: 1050 },
    { amount: '1e3' },
    { amount: '9223372036854775808' },
    { balanceAfter: '-9223372036854775809' },
    { balanceAfter: '007' },
    { sequence: '0' },
    { sequence: '-1' },
    { sequence: 3 },
    { accountId: 'not-a-uuid' },
    { currency: 'usd' },
    { createdAt: 'yesterday' },
    { pendingAmount: '1.5' },
    { pendingAmount: 5 },
    { pendingAmount: '' },
    { pendingAfter: '9223372036854775808' },
    { pendingAfter: 'x' },
  ];
  for (const change of bad) assert.equal(parseEntry({ ...good, ...change }, null).ok, false, JSON.stringify(change));
  assert.equal(parseEntry(null, null).ok, false);
  assert.equal(parseEntry([good], null).ok, false);
});

test('the extremes of a PostgreSQL bigint are accepted', () => {
  assert.equal(parseEntry({ ...good, amount: '-9223372036854775808', balanceAfter: '9223372036854775807' }, null).ok, true);
});

test('transaction.created needs a transfer id and at least one valid entry', () => {
  const parsed = parseTransactionCreated({ transfer: { id: transferId }, entries: [good, { ...good, sequence: '8' }] });
  assert.equal(parsed.ok && parsed.value.entries.length, 2);
  assert.equal(parsed.ok && parsed.value.entries[0]!.transferId, transferId);
  assert.equal(parseTransactionCreated({ transfer: { id: transferId }, entries: [] }).ok, false);
  assert.equal(parseTransactionCreated({ entries: [good] }).ok, false);
  assert.equal(parseTransactionCreated({ transfer: { id: transferId }, entries: [good, { ...good, amount: 'x' }] }).ok, false);
});

test("transaction.created carries the transfer's time, or its first entry's when the transfer has none", () => {
  const timed = parseTransactionCreated({ transfer: { id: transferId, createdAt: '2025-03-01T10:00:00Z' }, entries: [good] });
  assert.equal(timed.ok && timed.value.createdAt, '2025-03-01T10:00:00.000Z');
  const untimed = parseTransactionCreated({ transfer: { id: transferId }, entries: [good] });
  assert.equal(untimed.ok && untimed.value.createdAt, untimed.ok && untimed.value.entries[0]!.createdAt);
});

test('an entry may carry the change of the reserved amount and the reservation after it; "0" moves nothing posted', () => {
  const parsed = parseEntry({ ...good, amount: '0', balanceAfter: '500', pendingAmount: '-300', pendingAfter: '0' }, null);
  assert.equal(parsed.ok && parsed.value.amount, 0n);
  assert.equal(parsed.ok && parsed.value.pendingAmount, -300n);
  assert.equal(parsed.ok && parsed.value.pendingAfter, 0n);
  // Absent (or null): no change of the reservation, nothing to check it against.
  const old = parseEntry({ ...good, pendingAmount: null }, null);
  assert.equal(old.ok && old.value.pendingAmount, 0n);
  assert.equal(old.ok && old.value.pendingAfter, null);
});

test("an entry's own transfer id wins over the event's; a missing or malformed one falls back to it", () => {
  const own = '99999999-8888-4777-8666-555555555555';
  const parsed = parseEntry({ ...good, transferId: own.toUpperCase() }, transferId);
  assert.equal(parsed.ok && parsed.value.transferId, own);
  const fallback = parseEntry({ ...good, transferId: 'nope' }, transferId);
  assert.equal(fallback.ok && fallback.value.transferId, transferId);
  const none = parseEntry(good, null);
  assert.equal(none.ok && none.value.transferId, null);
});

const holdId = '22222222-3333-4444-8555-666666666666';
const captureId = '33333333-4444-4555-8666-777777777777';
const hold = (fields: Record<string, unknown> = {}) => ({
  id: holdId,
  status: 'pending',
  fromAccountId: accountId,
  toAccountId: transferId,
  amount: '300',
  postedAmount: '0',
  currency: 'USD',
  expiresAt: null,
  description: null,
  reference: null,
  metadata: {},
  createdAt: '2025-03-01T10:00:00Z',
  finishedAt: null,
  transferId: null,
  ...fields,
});

test('hold events carry the hold id, the time of the step, and entries that name their own transfer', () => {
  const reserve = { ...good, transferId: holdId, amount: '0', balanceAfter: '1000', pendingAmount: '300', pendingAfter: '300' };
  const created = parseHoldChanged({ hold: hold(), entries: [reserve] });
  assert.ok(created.ok);
  assert.equal(created.value.transferId, holdId);
  assert.equal(created.value.createdAt, '2025-03-01T10:00:00.000Z');
  assert.equal(created.value.entries[0]!.transferId, holdId);
  assert.equal(created.value.entries[0]!.pendingAfter, 300n);

  // Posted: the entries belong to the capture transfer; the step's time is when the hold finished.
  const debit = { ...good, transferId: captureId, amount: '-200', balanceAfter: '800', pendingAmount: '-300', pendingAfter: '0', sequence: '8' };
  const posted = parseHoldChanged({ hold: hold({ status: 'posted', postedAmount: '200', finishedAt: '2025-03-01T10:05:00Z', transferId: captureId }), entries: [debit] });
  assert.ok(posted.ok);
  assert.equal(posted.value.transferId, holdId);
  assert.equal(posted.value.createdAt, '2025-03-01T10:05:00.000Z');
  assert.equal(posted.value.entries[0]!.transferId, captureId);

  // An entry without a transfer id of its own belongs to the hold.
  const bare = parseHoldChanged({ hold: hold(), entries: [good] });
  assert.equal(bare.ok && bare.value.entries[0]!.transferId, holdId);

  assert.equal(parseHoldChanged({ hold: hold({ id: 'x' }), entries: [good] }).ok, false);
  assert.equal(parseHoldChanged({ hold: hold(), entries: [] }).ok, false);
  assert.equal(parseHoldChanged({ transfer: { id: transferId }, entries: [good] }).ok, false);
  assert.equal(parseHoldChanged({ hold: hold(), entries: [{ ...good, pendingAfter: '1.5' }] }).ok, false);
});

const openedData = { accountId, ownerId: 'user-1', currency: 'EUR', type: 'user', status: 'active', name: 'Main', overdraftLimit: '0', createdAt: '2025-03-01T10:00:00Z' };

test('account.opened needs an account id, an owner, a currency, an overdraft limit and a time', () => {
  assert.deepEqual(parseAccountOpened({ ...openedData, overdraftLimit: '2500', tier: 'premium' }), {
    ok: true,
    value: { accountId: accountId.toLowerCase(), ownerId: 'user-1', currency: 'EUR', overdraftLimit: 2500n, createdAt: '2025-03-01T10:00:00.000Z' },
  });
  assert.equal(parseAccountOpened({ ...openedData, ownerId: '' }).ok, false);
  assert.equal(parseAccountOpened({ ...openedData, currency: 'EURO' }).ok, false);
  for (const overdraftLimit of [undefined, '-1', '1.5', 100, '9223372036854775808']) {
    assert.equal(parseAccountOpened({ ...openedData, overdraftLimit }).ok, false, String(overdraftLimit));
  }
});

test("a settlement account's unbounded overdraft limit is the largest bigint", () => {
  const parsed = parseAccountOpened({ ...openedData, type: 'settlement', overdraftLimit: '9223372036854775807' });
  assert.equal(parsed.ok && parsed.value.overdraftLimit, 2n ** 63n - 1n);
});

test('account.limits_changed needs an account id, an overdraft limit and the time of the change', () => {
  const data = { accountId, ownerId: 'user-1', overdraftLimit: '5000', tier: 'premium', changedAt: '2025-03-02T09:00:00.123456Z' };
  assert.deepEqual(parseLimitsChanged(data), { ok: true, value: { accountId: accountId.toLowerCase(), overdraftLimit: 5000n, changedAt: '2025-03-02T09:00:00.123Z' } });
  assert.equal(parseLimitsChanged({ ...data, accountId: 'x' }).ok, false);
  assert.equal(parseLimitsChanged({ ...data, overdraftLimit: '-5' }).ok, false);
  assert.equal(parseLimitsChanged({ ...data, changedAt: undefined }).ok, false);
  assert.equal(parseLimitsChanged(null).ok, false);
});
