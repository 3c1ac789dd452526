import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPolicy, noUsage, parsePolicy } from './policy.ts';
import type { LedgerAccount } from './transfer.ts';
import { ledgerAccount } from './fixture.ts';

const account = (over: Partial<LedgerAccount> = {}): LedgerAccount => ledgerAccount({ id: '00000000-0000-4000-8000-000000000001', ...over });
const payee = account({ id: '00000000-0000-4000-8000-000000000002' });

test('a policy with nothing in it allows everything', () => {
  assert.equal(checkPolicy(parsePolicy({}), account(), payee, 10n ** 15n, noUsage(), true), undefined);
});

test('bad policies are refused at start with every problem named', () => {
  assert.throws(() => parsePolicy({ tiers: { standard: { perTransferMax: 100 } } }), /TRANSFER_POLICY is not valid: .*perTransferMax/);
  assert.throws(() => parsePolicy({ velocity: { count: 0, seconds: 60 } }), /velocity/);
  assert.throws(() => parsePolicy({ denyAccounts: ['not-a-uuid'] }), /denyAccounts/);
  assert.throws(() => parsePolicy({ limits: {} }), /not valid/);
  assert.throws(() => parsePolicy({ tiers: { Gold: {} } }), /not valid/);
});

test('monthly count counts the transfer being decided', () => {
  const policy = parsePolicy({ tiers: { standard: { monthly: { count: 3 } } } });
  assert.equal(checkPolicy(policy, account(), payee, 1n, { ...noUsage(), monthCount: 2 }, false), undefined);
  const refusal = checkPolicy(policy, account(), payee, 1n, { ...noUsage(), monthCount: 3 }, false);
  assert.deepEqual(refusal?.extra, { limit: 'monthly_count', window: 2_592_000, remaining: 0 });
});

test('an unknown tier gets the standard limits; settlement accounts are not limited', () => {
  const policy = parsePolicy({ tiers: { standard: { perTransferMax: '5' } } });
  assert.equal(checkPolicy(policy, account({ tier: 'vip' }), payee, 6n, noUsage(), false)?.code, 'limit_exceeded');
  assert.equal(checkPolicy(policy, account({ type: 'settlement', overdraftLimit: null }), payee, 6n, noUsage(), false), undefined);
});

test('the deny list stops both directions', () => {
  const policy = parsePolicy({ denyAccounts: [payee.id.toUpperCase()] });
  assert.equal(checkPolicy(policy, account(), payee, 1n, noUsage(), false)?.code, 'transfer_denied');
  assert.equal(checkPolicy(policy, payee, account(), 1n, noUsage(), false)?.code, 'transfer_denied');
});
