// One seeded invariant test: many concurrent random transfers, holds (posted or voided) and
// reversals through the gateway on the real infrastructure, then the invariants of BRIEF.md are
// checked against the ledger itself.
// Replay a failure with INVARIANT_SEED=<seed printed below>.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { needsInfra } from '@wallet/testkit';
import { WalletClient, until } from './support/client.ts';
import { startRealStack, type Stack } from './support/stack.ts';

const seed = Number(process.env.INVARIANT_SEED ?? Date.now() % 2 ** 31);
const people = 8;
const transfersTotal = Number(process.env.INVARIANT_TRANSFERS ?? 400);
const concurrency = 16;

describe('invariants under concurrent random transfers', await needsInfra(), () => {
  let stack: Stack;
  before(async () => {
    stack = await startRealStack();
  });
  after(async () => stack?.stop());

  test(`seed ${seed}: money is conserved, nobody goes negative, projections equal the ledger`, async () => {
    console.log(`# invariant test seed ${seed} (replay with INVARIANT_SEED=${seed})`);
    const operator = new WalletClient(stack.gatewayUrl);
    await operator.loginClient(stack.operator.id, stack.operator.secret);
    const users: { client: WalletClient; account: string }[] = [];
    const tag = randomUUID().slice(0, 6);
    for (let i = 0; i < people; i++) {
      const client = new WalletClient(stack.gatewayUrl);
      await client.signUp(`inv_${tag}_${i}`, `Person ${i}`);
      const account = await client.openAccount('USD');
      assert.equal((await operator.deposit(account, '5000')).status, 201);
      users.push({ client, account });
    }

    // A seeded plan: who pays whom how much, and how. Amounts up to 3000 make refusals common.
    // Holds are then posted (all or part) or voided by the payee; reversals return part of an
    // earlier accepted transfer.
    const plan = fc.sample(
      fc.record({
        from: fc.nat(people - 1),
        to: fc.nat(people - 1),
        amount: fc.integer({ min: 1, max: 3000 }),
        kind: fc.constantFrom('transfer', 'transfer', 'transfer', 'hold', 'reversal'),
        settle: fc.constantFrom('post', 'partial', 'void'),
      }),
      { seed, numRuns: transfersTotal },
    );
    const expected = ['insufficient_funds', 'same_account', 'reversal_amount_exceeded', 'transfer_not_reversible'];
    const sent: { id: string; to: number }[] = [];
    let accepted = 0;
    let refused = 0;
    let next = 0;
    const settle = async (step: (typeof plan)[number], holdId: string) => {
      const payee = users[step.to]!.client;
      const path = step.settle === 'void' ? 'void' : 'post';
      const body = step.settle === 'partial' ? { amount: String(Math.max(1, Math.floor(step.amount / 2))) } : {};
      const r = await payee.post(`/v1/holds/${holdId}/${path}`, body, { 'idempotency-key': randomUUID() });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const worker = async () => {
      while (next < plan.length) {
        const step = plan[next++]!;
        const from = users[step.from]!;
        const to = users[step.to]!;
        const body = { fromAccountId: from.account, to: { accountId: to.account }, amount: String(step.amount), currency: 'USD' };
        let r;
        if (step.kind === 'hold') {
          r = await from.client.post('/v1/holds', body, { 'idempotency-key': randomUUID() });
          if (r.status === 201) await settle(step, r.body.id as string);
        } else if (step.kind === 'reversal' && sent.length > 0) {
          const original = sent[step.amount % sent.length]!;
          r = await users[original.to]!.client.post(`/v1/transfers/${original.id}/reversals`, { amount: String(1 + (step.amount % 500)) }, { 'idempotency-key': randomUUID() });
        } else {
          r = await from.client.transfer(body);
          if (r.status === 201) sent.push({ id: r.body.id as string, to: step.to });
        }
        if (r.status === 201) accepted++;
        else {
          assert.equal(r.status, 422, JSON.stringify(r.body));
          assert.ok(expected.includes(r.body.code!), r.body.code);
          refused++;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    console.log(`# ${accepted} accepted, ${refused} refused`);

    const db = stack.infra!.db;
    // 1. For each currency the balances, settlement included, sum to zero; entries balance per transfer.
    const totals = await db.query<{ currency: string; total: bigint }>('SELECT currency, sum(balance)::bigint AS total FROM ledger.accounts GROUP BY currency');
    for (const row of totals.rows) assert.equal(row.total, 0n, `sum of ${row.currency}`);
    const unbalanced = await db.query(
      'SELECT e.transfer_id FROM ledger.entries e JOIN ledger.transfers t ON t.id = e.transfer_id GROUP BY e.transfer_id HAVING sum(e.amount) <> 0 OR count(*) <> 2',
    );
    assert.equal(unbalanced.rows.length, 0);
    // 2. No user account below zero, nothing reserved once every hold is settled, no transfer reversed beyond its amount.
    const negative = await db.query("SELECT id FROM ledger.accounts WHERE type = 'user' AND (balance < 0 OR pending <> 0)");
    assert.equal(negative.rows.length, 0);
    const overReversed = await db.query(
      "SELECT t.id FROM ledger.transfers t JOIN ledger.transfers r ON r.reversal_of = t.id GROUP BY t.id, t.amount, t.reversed_amount HAVING sum(r.amount) <> t.reversed_amount OR t.reversed_amount > t.amount",
    );
    assert.equal(overReversed.rows.length, 0);
    // 3. Every acknowledged transfer, hold and reversal is in the ledger, and only those.
    const ids = users.map((u) => u.account);
    const recorded = await db.query<{ n: bigint }>(
      `SELECT (SELECT count(*) FROM ledger.transfers WHERE kind IN ('transfer', 'reversal') AND from_account_id = ANY($1::uuid[]))
            + (SELECT count(*) FROM ledger.holds WHERE from_account_id = ANY($1::uuid[])) AS n`,
      [ids],
    );
    assert.equal(Number(recorded.rows[0]!.n), accepted);
    // Each account's entries chain: sequence 1..n, and every balance_after follows from the one before.
    const chains = await db.query<{ account_id: string }>(
      `SELECT account_id FROM (
         SELECT account_id, sequence, balance_after, amount,
                lag(balance_after, 1, 0::bigint) OVER (PARTITION BY account_id ORDER BY sequence) AS before,
                pending_amount, pending_after,
                lag(pending_after, 1, 0::bigint) OVER (PARTITION BY account_id ORDER BY sequence) AS pending_before,
                row_number() OVER (PARTITION BY account_id ORDER BY sequence) AS n
         FROM ledger.entries) e
       WHERE before + amount <> balance_after OR pending_before + pending_amount <> pending_after OR n <> sequence`,
    );
    assert.equal(chains.rows.length, 0);
    // 5. After events stop, the balance service reports the ledger's balance for every account.
    const ledger = await db.query<{ id: string; balance: bigint; pending: bigint; sequence: bigint }>('SELECT id, balance, pending, sequence FROM ledger.accounts');
    for (const account of ledger.rows) {
      await until(async () => {
        const r = await operator.balance(account.id);
        const same = r.body.posted === account.balance.toString() && r.body.pending === account.pending.toString() && r.body.sequence === account.sequence.toString();
        return r.status === 200 && same ? true : undefined;
      }, `balance service to agree with the ledger for ${account.id}`);
    }
  });
});
