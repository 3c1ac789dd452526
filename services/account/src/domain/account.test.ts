import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  accountName,
  canView,
  changeLimits,
  changeStatus,
  isUuid,
  openUserAccount,
  parseOverdraftLimit,
  SETTLEMENT_OVERDRAFT_LIMIT,
  settlementAccount,
  toAccount,
  type AccountRecord,
  type Decision,
} from './account.ts';

const now = new Date('2026-01-02T03:04:05.000Z');
const id = '6f1c2d1e-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
const owner = '0b7e4c4a-1111-4222-8333-944445555666';

const open = (over: Partial<Parameters<typeof openUserAccount>[0]> = {}) =>
  openUserAccount({ id, ownerId: owner, currencyCode: 'USD', name: undefined, openAccounts: 0, openAccountsMax: 10, now, ...over });

function value<T>(decision: Decision<T>): T {
  if (!decision.ok) assert.fail(`expected a decision, got ${decision.code}: ${decision.detail}`);
  return decision.value;
}

function refusal<T>(decision: Decision<T>) {
  if (decision.ok) assert.fail('expected a refusal, got a decision');
  return decision;
}

const accountIn = (status: AccountRecord['status']): AccountRecord => ({ ...value(open()), status });

describe('accountName', () => {
  test('defaults to "<CUR> account"', () => {
    assert.equal(value(accountName('EUR', undefined)), 'EUR account');
  });

  test('trims the given name', () => {
    assert.equal(value(accountName('USD', '  Holiday fund \n')), 'Holiday fund');
  });

  test('refuses a blank name', () => {
    const r = refusal(accountName('USD', '   '));
    assert.equal(r.code, 'validation_failed');
    assert.equal(r.field, 'body/name');
  });

  test('accepts 60 characters and refuses 61, counting code points', () => {
    assert.equal(value(accountName('USD', 'a'.repeat(60))).length, 60);
    assert.equal(refusal(accountName('USD', 'a'.repeat(61))).code, 'validation_failed');
    assert.equal(value(accountName('USD', '💶'.repeat(60))), '💶'.repeat(60));
  });

  test('refuses control characters inside the name', () => {
    assert.equal(refusal(accountName('USD', 'a\u0000b')).code, 'validation_failed');
    assert.equal(refusal(accountName('USD', 'a\nb')).code, 'validation_failed');
    assert.equal(refusal(accountName('USD', 'a\u2028b')).code, 'validation_failed');
  });
});

describe('openUserAccount', () => {
  test('opens an active user account with no overdraft', () => {
    assert.deepEqual(value(open({ name: ' Daily ' })), {
      id,
      ownerId: owner,
      currency: 'USD',
      name: 'Daily',
      type: 'user',
      status: 'active',
      overdraftLimit: 0n,
      tier: 'standard',
      createdAt: now,
    });
  });

  test('refuses currencies that are not ISO 4217 country currencies', () => {
    for (const code of ['ABC', 'XAU', 'XXX', 'XTS']) assert.equal(refusal(open({ currencyCode: code })).code, 'unsupported_currency', code);
    assert.equal(value(open({ currencyCode: 'JPY' })).currency, 'JPY');
  });

  test('refuses an account beyond the per-owner limit', () => {
    assert.equal(value(open({ openAccounts: 9, openAccountsMax: 10 })).status, 'active');
    const r = refusal(open({ openAccounts: 10, openAccountsMax: 10 }));
    assert.equal(r.code, 'account_limit_reached');
    assert.match(r.detail, /10/);
  });

  test('reports a bad name before the currency and the limit', () => {
    assert.equal(refusal(open({ name: ' ', currencyCode: 'ABC', openAccounts: 10 })).code, 'validation_failed');
  });
});

describe('settlementAccount', () => {
  test('is owned by the system, unbounded below zero, named after the currency', () => {
    const account = value(settlementAccount({ id, currencyCode: 'USD', now }));
    assert.equal(account.ownerId, 'system');
    assert.equal(account.type, 'settlement');
    assert.equal(account.status, 'active');
    assert.equal(account.name, 'USD settlement');
    assert.equal(account.overdraftLimit, SETTLEMENT_OVERDRAFT_LIMIT);
    assert.equal(SETTLEMENT_OVERDRAFT_LIMIT, 2n ** 63n - 1n);
    assert.equal(account.tier, 'standard');
  });

  test('refuses unsupported currencies', () => {
    assert.equal(refusal(settlementAccount({ id, currencyCode: 'XAU', now })).code, 'unsupported_currency');
  });
});

describe('changeStatus', () => {
  test('freezes an active account and unfreezes a frozen one', () => {
    const frozen = value(changeStatus(accountIn('active'), 'frozen'));
    assert.ok(frozen.changed);
    assert.equal(frozen.account.status, 'frozen');
    assert.equal(frozen.previousStatus, 'active');

    const active = value(changeStatus(accountIn('frozen'), 'active'));
    assert.ok(active.changed);
    assert.equal(active.account.status, 'active');
    assert.equal(active.previousStatus, 'frozen');
  });

  test('is idempotent in the target state', () => {
    assert.deepEqual(value(changeStatus(accountIn('frozen'), 'frozen')), { changed: false, account: accountIn('frozen') });
    assert.deepEqual(value(changeStatus(accountIn('active'), 'active')), { changed: false, account: accountIn('active') });
  });

  test('never changes a closed account', () => {
    assert.equal(refusal(changeStatus(accountIn('closed'), 'frozen')).code, 'account_closed');
    assert.equal(refusal(changeStatus(accountIn('closed'), 'active')).code, 'account_closed');
  });

  test('does not mutate its input', () => {
    const account = accountIn('active');
    changeStatus(account, 'frozen');
    assert.equal(account.status, 'active');
  });
});

describe('parseOverdraftLimit', () => {
  test('reads 0 up to the bigint maximum, exactly', () => {
    assert.equal(value(parseOverdraftLimit('0')), 0n);
    assert.equal(value(parseOverdraftLimit('50000')), 50000n);
    assert.equal(value(parseOverdraftLimit('9223372036854775807')), 2n ** 63n - 1n);
  });

  test('refuses anything else', () => {
    for (const text of ['', '-1', '1.5', '01', '00', ' 1', '1 ', '1e3', '0x10', '+1', '9223372036854775808', '99999999999999999999']) {
      const r = refusal(parseOverdraftLimit(text));
      assert.equal(r.code, 'validation_failed', text);
      assert.equal(r.field, 'body/overdraftLimit', text);
    }
  });
});

describe('changeLimits', () => {
  const user = () => accountIn('active');
  const settlement = () => value(settlementAccount({ id, currencyCode: 'USD', now }));

  test('sets either field or both; the other stays', () => {
    assert.deepEqual(value(changeLimits(user(), { overdraftLimit: 5000n })), { changed: true, account: { ...user(), overdraftLimit: 5000n } });
    assert.deepEqual(value(changeLimits(user(), { tier: 'premium' })), { changed: true, account: { ...user(), tier: 'premium' } });
    assert.deepEqual(value(changeLimits(user(), { overdraftLimit: 1n, tier: 'vip' })), {
      changed: true,
      account: { ...user(), overdraftLimit: 1n, tier: 'vip' },
    });
  });

  test('reports no change when the values are the current ones', () => {
    assert.deepEqual(value(changeLimits(user(), { overdraftLimit: 0n, tier: 'standard' })), { changed: false, account: user() });
    assert.deepEqual(value(changeLimits(user(), {})), { changed: false, account: user() });
  });

  test('a settlement account takes a tier, never an overdraft limit', () => {
    assert.deepEqual(value(changeLimits(settlement(), { tier: 'house' })), { changed: true, account: { ...settlement(), tier: 'house' } });
    for (const overdraftLimit of [0n, 100n, SETTLEMENT_OVERDRAFT_LIMIT]) {
      assert.equal(refusal(changeLimits(settlement(), { overdraftLimit, tier: 'house' })).code, 'account_not_adjustable');
    }
  });

  test('refuses limits out of range and malformed tiers', () => {
    for (const overdraftLimit of [-1n, 2n ** 63n]) {
      assert.equal(refusal(changeLimits(user(), { overdraftLimit })).field, 'body/overdraftLimit');
    }
    for (const tier of ['', 'Gold', '1a', 'a b', 'a'.repeat(33)]) assert.equal(refusal(changeLimits(user(), { tier })).field, 'body/tier', tier);
    assert.equal(value(changeLimits(user(), { tier: `a${'-_9'.repeat(10)}z` })).changed, true);
  });

  test('does not mutate its input', () => {
    const account = user();
    changeLimits(account, { overdraftLimit: 9n, tier: 'vip' });
    assert.deepEqual(account, user());
  });
});

describe('visibility and views', () => {
  test('owners and operators see an account, others do not', () => {
    const account = accountIn('active');
    assert.ok(canView(account, { subject: owner, operator: false }));
    assert.ok(canView(account, { subject: 'operator-1', operator: true }));
    assert.ok(!canView(account, { subject: 'someone-else', operator: false }));
  });

  test('isUuid accepts uuids only', () => {
    assert.ok(isUuid(id));
    assert.ok(isUuid(id.toUpperCase()));
    for (const bad of ['', 'abc', `${id}x`, id.slice(1), "1' OR '1'='1"]) assert.ok(!isUuid(bad), bad);
  });

  test('toAccount carries amounts as digit strings and times as ISO text', () => {
    const view = toAccount(value(settlementAccount({ id, currencyCode: 'BHD', now })));
    assert.equal(view.overdraftLimit, '9223372036854775807');
    assert.equal(view.tier, 'standard');
    assert.equal(view.createdAt, '2026-01-02T03:04:05.000Z');
  });
});
