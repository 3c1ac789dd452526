import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideTransfer } from './transfer.ts';
import { ledgerAccount } from './fixture.ts';

const account = ledgerAccount;

test('moves money and advances both sequences', () => {
  const d = decideTransfer(account({ balance: 500n, sequence: 3n }), account({ id: 'b', balance: 7n }), 200n, 'USD');
  assert.ok(d.ok);
  assert.deepEqual(d.debit, { accountId: 'a', amount: -200n, balanceAfter: 300n, pendingAmount: 0n, pendingAfter: 0n, sequence: 4n });
  assert.deepEqual(d.credit, { accountId: 'b', amount: 200n, balanceAfter: 207n, pendingAmount: 0n, pendingAfter: 0n, sequence: 1n });
});

test('refuses more than is available and says how much is', () => {
  const d = decideTransfer(account({ balance: 100n }), account({ id: 'b' }), 101n, 'USD');
  assert.equal(d.ok, false);
  assert.ok(!d.ok && d.code === 'insufficient_funds' && d.extra?.available === '100');
});

test('an overdraft limit extends what is available; settlement accounts are unbounded', () => {
  assert.ok(decideTransfer(account({ balance: 10n, overdraftLimit: 90n }), account({ id: 'b' }), 100n, 'USD').ok);
  assert.ok(decideTransfer(account({ type: 'settlement', overdraftLimit: null }), account({ id: 'b' }), 10n ** 15n, 'USD').ok);
});

test('refuses frozen, closed, mismatched and self transfers', () => {
  const b = account({ id: 'b', balance: 0n });
  const rich = account({ balance: 1000n });
  assert.equal(codeOf(decideTransfer(rich, { ...b, status: 'frozen' }, 1n, 'USD')), 'account_frozen');
  assert.equal(codeOf(decideTransfer({ ...rich, status: 'closed' }, b, 1n, 'USD')), 'account_closed');
  assert.equal(codeOf(decideTransfer(rich, { ...b, currency: 'EUR' }, 1n, 'USD')), 'currency_mismatch');
  assert.equal(codeOf(decideTransfer(rich, b, 1n, 'EUR')), 'currency_mismatch');
  assert.equal(codeOf(decideTransfer(rich, rich, 1n, 'USD')), 'same_account');
});

test('any sequence of decisions conserves the total and keeps user balances non-negative', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(3), fc.nat(3), fc.bigInt({ min: 1n, max: 1000n })), { maxLength: 200 }), (moves) => {
      const accounts = [0, 1, 2, 3].map((i) => account({ id: `a${i}`, balance: i === 0 ? 0n : 500n, type: i === 0 ? 'settlement' : 'user', overdraftLimit: i === 0 ? null : 0n }));
      const total = () => accounts.reduce((sum, a) => sum + a.balance, 0n);
      const before = total();
      for (const [f, t, amount] of moves) {
        const d = decideTransfer(accounts[f]!, accounts[t]!, amount, 'USD');
        if (!d.ok) continue;
        accounts[f] = { ...accounts[f]!, balance: d.debit.balanceAfter, sequence: d.debit.sequence };
        accounts[t] = { ...accounts[t]!, balance: d.credit.balanceAfter, sequence: d.credit.sequence };
      }
      return total() === before && accounts.every((a) => a.type === 'settlement' || a.balance >= 0n);
    }),
  );
});

function codeOf(d: ReturnType<typeof decideTransfer>) {
  return d.ok ? 'ok' : d.code;
}
