// The drift check against a real ledger (the transaction service in this process) on the real
// PostgreSQL, RabbitMQ and Redis: projection rows, history entries and cached copies are corrupted
// directly in PostgreSQL and Redis; the check finds each one, measures and logs it, and repairs it
// from the ledger. A Redis that comes back empty is refilled by reads and by the check.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { needsInfra } from '@wallet/testkit';
import { createBalanceCache, cacheKey } from '../src/store/balance-cache.ts';
import { findBalance } from '../src/store/balances.ts';
import { createDriftChecker } from '../src/jobs/drift.ts';
import { createRepairer } from '../src/rebuild/repair.ts';
import { metricSamples, metricValue, readBalance } from './support.ts';
import { startLedgerAndBalance, type LedgerAndBalance } from './real-ledger.ts';

describe('drift check against the real ledger', await needsInfra(), () => {
  let s: LedgerAndBalance;
  let payer: { id: string; ownerId: string };
  let payee: { id: string; ownerId: string };
  let third: { id: string; ownerId: string };

  const db = () => s.ledger.infra.db;
  const cached = (accountId: string) => s.ledger.infra.cache.getVersioned(cacheKey(accountId));
  const row = async (accountId: string) => (await findBalance(db(), accountId))!;
  const ledgerAt = async (accountId: string) => {
    const { rows } = await db().query<{ balance: bigint; pending: bigint; sequence: bigint }>('SELECT balance, pending, sequence FROM ledger.accounts WHERE id = $1', [accountId]);
    return rows[0]!;
  };
  const accountsInLedger = async () => Number((await db().query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM ledger.accounts')).rows[0]!.n);

  before(async () => {
    s = await startLedgerAndBalance();
    payer = s.open();
    payee = s.open();
    third = s.open();
    await s.deposit(payer.id, 10_000n);
    await s.transfer(payer, payee.id, 2_500n);
    await s.transfer(payer, third.id, 700n);
    await s.transfer(payee, third.id, 300n);
    await s.hold(payer, payee.id, 1_000n);
    await s.settled();
  });

  after(async () => {
    await s?.stop();
  });

  test('a projection that agrees with the ledger: no drift, no lag, the metrics say so', async () => {
    assert.deepEqual(await s.differences(), []);
    const report = await s.balance.drift.checkAll();
    assert.equal(report.accounts, await accountsInLedger());
    assert.deepEqual([report.drifted, report.repaired, report.failed, report.unknown, report.lagging, report.lagMax], [0, 0, 0, 0, 0, 0n]);
    assert.equal(await metricValue(s.balance.app, 'balance_drifted_accounts'), 0);
    assert.equal(await metricValue(s.balance.app, 'balance_projection_lag_entries'), 0);
    assert.equal(await metricValue(s.balance.app, 'balance_drift_checked_accounts'), report.accounts);
    const completed = await metricValue(s.balance.app, 'balance_drift_check_completed_timestamp_seconds');
    assert.ok(Math.abs(completed - Date.now() / 1000) < 60, `completed at ${completed}`);
  });

  test('a corrupted row and history are found, logged, and repaired from the ledger under a higher revision', async () => {
    const before = await row(payer.id);
    const truth = await ledgerAt(payer.id);
    assert.equal(before.sequence, truth.sequence);
    // Posted off by one cent, the pending amount lost, the first history entry gone, the last one wrong.
    await db().query('UPDATE balance.balances SET available = available + 1, pending = 0 WHERE account_id = $1', [payer.id]);
    await db().query('DELETE FROM balance.entries WHERE account_id = $1 AND sequence = 1', [payer.id]);
    await db().query('UPDATE balance.entries SET balance_after = balance_after - 7 WHERE account_id = $1 AND sequence = $2', [payee.id, (await row(payee.id)).sequence]);
    const repairsBefore = (await metricSamples(s.balance.app, 'balance_drift_repairs_total')).get('{kind="projection",service="balance"}') ?? 0;

    const report = await s.balance.drift.checkAll();
    assert.equal(report.drifted, 2);
    assert.equal(report.repaired, 2);
    assert.equal(report.failed, 0);
    const payerDrift = report.findings.find((d) => d.accountId === payer.id && d.kind === 'balance');
    assert.ok(payerDrift, JSON.stringify(report.findings, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
    assert.equal(payerDrift.sequence, truth.sequence);
    assert.deepEqual(payerDrift.projected, { posted: truth.balance + 1n, pending: 0n });
    assert.deepEqual(payerDrift.ledger, { balance: truth.balance, pending: truth.pending });
    assert.ok(report.findings.some((d) => d.accountId === payee.id && d.kind === 'history'));
    assert.equal(await metricValue(s.balance.app, 'balance_drifted_accounts'), 2);
    const repairs = (await metricSamples(s.balance.app, 'balance_drift_repairs_total')).get('{kind="projection",service="balance"}');
    assert.equal(repairs, repairsBefore + 2);

    // Row, history and cached copy equal the ledger again; the row's revision is above the one before.
    assert.deepEqual(await s.differences(), []);
    const after = await row(payer.id);
    assert.deepEqual([after.posted, after.pending, after.sequence], [truth.balance, truth.pending, truth.sequence]);
    assert.ok(after.revision > before.revision, `revision ${before.revision} → ${after.revision}`);
    const copy = await cached(payer.id);
    assert.deepEqual([copy?.version, copy?.posted, copy?.pending, copy?.sequence], [after.revision.toString(), truth.balance.toString(), truth.pending.toString(), truth.sequence.toString()]);
    const served = await readBalance(s.balance.app, payer.id, s.operator);
    assert.deepEqual([served.body.posted, served.body.pending], [truth.balance.toString(), truth.pending.toString()]);

    // Repaired: the next check finds nothing, and the gauge says so.
    assert.equal((await s.balance.drift.checkAll()).drifted, 0);
    assert.equal(await metricValue(s.balance.app, 'balance_drifted_accounts'), 0);

    // The consumer goes on from the repaired row.
    await s.transfer(payer, payee.id, 100n);
    await s.settled();
    assert.deepEqual(await s.differences(), []);
  });

  test('a corrupted cached copy is found and replaced, also one whose version no revision can pass', async () => {
    const victim = await row(third.id);
    // Same revision, other content: only the cache is wrong.
    await s.ledger.infra.cache.del(cacheKey(third.id));
    await s.ledger.infra.cache.setVersioned(cacheKey(third.id), victim.revision, {
      sequence: victim.sequence.toString(),
      posted: '999999',
      pending: '0',
      overdraftLimit: '0',
      available: '999999',
      limitsChangedAt: '',
      currency: 'USD',
      ownerId: 'someone', // a copy with an owner is served as it is
      updatedAt: victim.updatedAt,
    });
    // A copy from the far future (a version above any revision) for the payee.
    await s.ledger.infra.cache.del(cacheKey(payee.id));
    await s.ledger.infra.cache.setVersioned(cacheKey(payee.id), 9_999_999_999_999_999_999n, { sequence: '1', posted: '1', pending: '0', overdraftLimit: '0', available: '1', limitsChangedAt: '', currency: 'USD', ownerId: '', updatedAt: victim.updatedAt });
    assert.equal((await readBalance(s.balance.app, third.id, s.operator)).body.posted, '999999'); // served as it is, until repaired

    const report = await s.balance.drift.checkAll();
    assert.equal(report.drifted, 2, JSON.stringify(report.findings.map((d) => [d.accountId, d.kind, d.detail])));
    assert.ok(report.findings.every((d) => d.kind === 'cache'));
    assert.equal(report.repaired, 2);
    const repaired = await row(third.id);
    assert.ok(repaired.revision > victim.revision);
    assert.deepEqual([repaired.posted, repaired.sequence], [victim.posted, victim.sequence]);
    const copy = await cached(third.id);
    assert.deepEqual([copy?.version, copy?.posted], [repaired.revision.toString(), victim.posted.toString()]);
    assert.equal((await readBalance(s.balance.app, third.id, s.operator)).body.posted, victim.posted.toString());
    const payeeCopy = await cached(payee.id);
    assert.equal(payeeCopy?.version, (await row(payee.id)).revision.toString());
    assert.equal(payeeCopy?.posted, (await ledgerAt(payee.id)).balance.toString());
    assert.equal((await metricSamples(s.balance.app, 'balance_drift_repairs_total')).get('{kind="cache",service="balance"}'), 2);
    assert.equal((await s.balance.drift.checkAll()).drifted, 0);
  });

  test('Redis that comes back empty is refilled: by a read, and by the check for every account', async () => {
    assert.ok((await s.flushCache()) > 0);
    assert.equal(await cached(payer.id), null);
    // A read falls back to PostgreSQL and writes the cache again.
    const read = await readBalance(s.balance.app, payer.id, s.operator);
    assert.equal(read.status, 200);
    const refilled = await cached(payer.id);
    assert.equal(refilled?.version, (await row(payer.id)).revision.toString());
    assert.equal(refilled?.posted, read.body.posted);

    await s.flushCache();
    const report = await s.balance.drift.checkAll();
    assert.equal(report.drifted, 0);
    assert.equal(report.cacheRefilled, report.accounts);
    for (const id of [payer.id, payee.id, third.id]) {
      const copy = await cached(id);
      const stored = await row(id);
      assert.deepEqual([copy?.version, copy?.posted, copy?.sequence], [stored.revision.toString(), stored.posted.toString(), stored.sequence.toString()]);
    }
    assert.ok((await metricValue(s.balance.app, 'balance_drift_cache_refills_total')) >= report.accounts);
  });

  test('lag is measured; an account that stays behind over two checks is caught up; one ahead of the ledger is drift', async () => {
    // The payee's projection one entry behind, consistently (its events lost): lag, not drift.
    const ahead = await row(payee.id);
    const { rows } = await db().query<{ balance_after: bigint; pending_after: bigint }>(
      'SELECT balance_after, pending_after FROM balance.entries WHERE account_id = $1 AND sequence = $2',
      [payee.id, ahead.sequence - 1n],
    );
    await db().query('DELETE FROM balance.entries WHERE account_id = $1 AND sequence = $2', [payee.id, ahead.sequence]);
    await db().query('UPDATE balance.balances SET available = $2, pending = $3, sequence = sequence - 1, revision = revision + 1 WHERE account_id = $1', [payee.id, rows[0]!.balance_after, rows[0]!.pending_after]);
    // The third account's row past the ledger.
    await db().query('UPDATE balance.balances SET sequence = sequence + 2, revision = revision + 1 WHERE account_id = $1', [third.id]);

    const first = await s.balance.drift.checkAll();
    assert.deepEqual([first.lagging, first.lagMax, first.lagSum, first.caughtUp], [1, 1n, 1n, 0]);
    assert.equal(await metricValue(s.balance.app, 'balance_projection_lag_entries'), 1);
    assert.deepEqual(first.findings.map((d) => [d.accountId, d.kind]), [[third.id, 'ahead']]);
    assert.equal((await row(third.id)).sequence, (await ledgerAt(third.id)).sequence);

    const second = await s.balance.drift.checkAll();
    assert.equal(second.caughtUp, 1);
    assert.equal(second.drifted, 0);
    assert.deepEqual(await s.differences(), []);
    assert.equal((await s.balance.drift.checkAll()).lagging, 0);
    assert.equal(await metricValue(s.balance.app, 'balance_projection_lag_entries'), 0);
  });

  test('a row the ledger does not know is reported, not repaired; a report-only check logs each drift once', async () => {
    const stranger = randomUUID();
    await db().query(`INSERT INTO balance.balances (account_id, currency, available, sequence, revision) VALUES ($1, 'USD', 50, 3, 4)`, [stranger]);
    await db().query('UPDATE balance.balances SET available = available - 5 WHERE account_id = $1', [payer.id]);
    const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];
    const log = { info: () => undefined, warn: (obj: object, msg: string) => void warnings.push({ obj: obj as Record<string, unknown>, msg }), error: () => undefined };
    const cache = createBalanceCache({ cache: s.ledger.infra.cache, log, timeoutMs: 250, staleAccountsMax: 100 });
    const reportOnly = createDriftChecker({
      db: db(),
      cache,
      ledger: s.reader,
      repairer: createRepairer({ db: db(), cache, ledger: s.reader, pageSize: 2 }),
      log,
      pageSize: 2, // pages of two accounts: the sweep spans several pages
      accountsPerRunMax: 3, // and several runs
      repair: false,
    });
    let report;
    let runs = 0;
    while (!(report = await reportOnly.run())) runs++;
    assert.ok(runs >= 1, 'a sweep of more accounts than one run may check spans runs');
    assert.equal(report.drifted, 2);
    assert.equal(report.repaired, 0);
    assert.equal(report.unknown, 1);
    // The row was changed behind the projector's back (same revision): its cached copy now differs from it too.
    const found = new Set([`${stranger}:unknown_account`, `${payer.id}:balance`, `${payer.id}:cache`]);
    assert.deepEqual(new Set(report.findings.map((d) => `${d.accountId}:${d.kind}`)), found);
    await reportOnly.checkAll();
    const drifts = warnings.filter((w) => w.msg.startsWith('balance drift:'));
    assert.equal(drifts.length, found.size, 'each drift is logged once');
    const logged = drifts.find((w) => w.obj.accountId === payer.id && w.obj.kind === 'balance')!.obj;
    const truth = await ledgerAt(payer.id);
    assert.deepEqual(logged, {
      accountId: payer.id,
      kind: 'balance',
      sequence: truth.sequence.toString(),
      projected: { posted: (truth.balance - 5n).toString(), pending: truth.pending.toString() },
      ledger: { balance: truth.balance.toString(), pending: truth.pending.toString() },
      ledgerSequence: truth.sequence.toString(),
      detail: logged.detail,
    });

    // The service's own check repairs the payer and leaves the stranger alone.
    const repaired = await s.balance.drift.checkAll();
    assert.deepEqual([repaired.drifted, repaired.repaired, repaired.unknown], [2, 1, 1]);
    assert.equal((await row(payer.id)).posted, truth.balance);
    assert.equal((await row(stranger)).posted, 50n);
    await db().query('DELETE FROM balance.balances WHERE account_id = $1', [stranger]);
  });

  test('the periodic check runs on its own', async () => {
    await db().query('UPDATE balance.balances SET pending = pending + 3 WHERE account_id = $1', [payer.id]);
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const cache = createBalanceCache({ cache: s.ledger.infra.cache, log, timeoutMs: 250, staleAccountsMax: 100 });
    const periodic = createDriftChecker({ db: db(), cache, ledger: s.reader, repairer: createRepairer({ db: db(), cache, ledger: s.reader, pageSize: 100 }), log, pageSize: 500, accountsPerRunMax: 1000, repair: true });
    periodic.start(1000, 10);
    try {
      const deadline = Date.now() + 10_000;
      while (!periodic.last && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(periodic.last?.drifted, 1);
      assert.equal(periodic.last?.repaired, 1);
    } finally {
      await periodic.stop();
    }
    assert.deepEqual(await s.differences(), []);
  });
});
