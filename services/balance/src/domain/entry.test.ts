import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAccountOpened, parseEntry, parseTransactionCreated } from './entry.ts';

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

test('account.opened needs an account id, an owner, a currency and a time', () => {
  const data = { accountId, ownerId: 'user-1', currency: 'EUR', type: 'user', status: 'active', name: 'Main', overdraftLimit: '0', createdAt: '2025-03-01T10:00:00Z' };
  assert.deepEqual(parseAccountOpened(data), {
    ok: true,
    value: { accountId: accountId.toLowerCase(), ownerId: 'user-1', currency: 'EUR', createdAt: '2025-03-01T10:00:00.000Z' },
  });
  assert.equal(parseAccountOpened({ ...data, ownerId: '' }).ok, false);
  assert.equal(parseAccountOpened({ ...data, currency: 'EURO' }).ok, false);
});
