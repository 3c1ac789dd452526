// Rebuilding the balance projections from a real ledger (the transaction service in this process)
// on the real PostgreSQL, RabbitMQ and Redis: after the tables are emptied or corrupted, and while
// transfers keep flowing; then every account is compared with the ledger. The command itself
// (`npm run balance:rebuild`) runs once as its own process.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { needsInfra } from '@wallet/testkit';
import { createBalanceCache, cacheKey } from '../src/store/balance-cache.ts';
import { findBalance } from '../src/store/balances.ts';
import { rebuildAll } from '../src/rebuild/run.ts';
import { readBalance } from './support.ts';
import { startLedgerAndBalance, type LedgerAndBalance } from './real-ledger.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function runCommand(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/balance/src/rebuild.ts', ...args], { cwd: root, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('rebuilding balances from the real ledger', await needsInfra(), () => {
  let s: LedgerAndBalance;
  const users: Array<{ id: string; ownerId: string }> = [];
  const silent = { warn: () => undefined, error: () => undefined };

  const db = () => s.ledger.infra.db;
  const cache = () => createBalanceCache({ cache: s.ledger.infra.cache, log: silent, timeoutMs: 500, staleAccountsMax: 1000 });
  const rebuild = (checkOnly = false) => rebuildAll({ db: db(), cache: cache(), ledger: s.reader, pageSize: 3, ledgerPageSize: 4, checkOnly });
  const ledgerAccounts = async () => Number((await db().query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM ledger.accounts')).rows[0]!.n);
  const ledgerEntries = async () => Number((await db().query<{ n: bigint }>('SELECT count(*)::bigint AS n FROM ledger.entries')).rows[0]!.n);

  /** Every cached copy equals its row (version = revision). */
  const cacheMatchesRows = async () => {
    const { rows } = await db().query<{ account_id: string }>('SELECT account_id FROM balance.balances');
    for (const { account_id } of rows) {
      const stored = (await findBalance(db(), account_id))!;
      const copy = await s.ledger.infra.cache.getVersioned(cacheKey(account_id));
      assert.deepEqual(
        [copy?.version, copy?.posted, copy?.pending, copy?.sequence],
        [stored.revision.toString(), stored.posted.toString(), stored.pending.toString(), stored.sequence.toString()],
        account_id,
      );
    }
  };

  before(async () => {
    s = await startLedgerAndBalance();
    for (let i = 0; i < 6; i++) users.push(s.open());
    await s.deposit(users[0]!.id, 50_000n);
    for (let i = 0; i < 24; i++) await s.transfer(users[0]!, users[1 + (i % 5)]!.id, BigInt(100 + i));
    await s.transfer(users[1]!, users[2]!.id, 50n);
    await s.hold(users[0]!, users[3]!.id, 1_234n);
    await s.settled();
    assert.deepEqual(await s.differences(), []);
  });

  after(async () => {
    await s?.stop();
  });

  test('from empty tables (the cache still holding the old copies): every account equals the ledger again', async () => {
    const owner = users[1]!;
    const cachedBefore = await s.ledger.infra.cache.getVersioned(cacheKey(owner.id));
    await db().query('DELETE FROM balance.entries');
    await db().query('DELETE FROM balance.balances');

    const report = await rebuild();
    assert.equal(report.failures.length, 0, JSON.stringify(report.failures));
    assert.equal(report.accounts, await ledgerAccounts());
    assert.equal(report.rebuilt, report.accounts);
    // Every account was missing (behind) and had a cached copy without a row (drift).
    assert.equal(report.laggingBefore, report.accounts);
    assert.equal(report.driftedBefore, report.accounts);
    assert.equal(report.entriesApplied, await ledgerEntries());
    assert.ok(report.entriesRead >= report.entriesApplied);
    assert.ok(report.seconds > 0);

    assert.deepEqual(await s.differences(), []);
    // The owner came back from the ledger's copy of the account; the new rows' revisions passed the old copies'.
    const stored = (await findBalance(db(), owner.id))!;
    assert.equal(stored.ownerId, owner.ownerId);
    assert.ok(stored.revision > BigInt(cachedBefore!.version!), `revision ${stored.revision}, cached before ${cachedBefore!.version}`);
    await cacheMatchesRows();
    const mine = await readBalance(s.balance.app, owner.id, await s.ledger.issuer.userToken(owner.ownerId));
    assert.equal(mine.status, 200);
    assert.equal(mine.body.posted, stored.posted.toString());

    // A second rebuild finds nothing to do.
    const again = await rebuild();
    assert.deepEqual([again.driftedBefore, again.laggingBefore, again.entriesRewritten, again.entriesApplied, again.failures.length], [0, 0, 0, 0, 0]);
  });

  test('corrupted rows, history and cache: --check reports without changing, the rebuild repairs', async () => {
    const [a, b, c] = [users[0]!, users[2]!, users[4]!];
    await db().query('UPDATE balance.balances SET available = available * 2 WHERE account_id = $1', [a.id]);
    await db().query('DELETE FROM balance.entries WHERE account_id = $1 AND sequence IN (2, 3)', [b.id]);
    await db().query('UPDATE balance.entries SET amount = amount + 1 WHERE account_id = $1 AND sequence = 1', [c.id]);
    await s.ledger.infra.cache.del(cacheKey(c.id));
    const copyOfB = (await findBalance(db(), b.id))!;
    await s.ledger.infra.cache.del(cacheKey(b.id));
    await s.ledger.infra.cache.setVersioned(cacheKey(b.id), copyOfB.revision + 5n, { sequence: '1', posted: '1', pending: '0', overdraftLimit: '0', available: '1', limitsChangedAt: '', currency: 'USD', ownerId: b.ownerId, updatedAt: copyOfB.updatedAt });
    const broken = await s.differences();
    assert.ok(broken.length >= 4, broken.join('\n'));

    const checked = await rebuild(true);
    // a: the row; b: its cached copy (its history's gap is below the row's sequence: only a rebuild looks there).
    assert.equal(checked.driftedBefore, 2, JSON.stringify(checked.drifts.map((d) => [d.accountId, d.kind])));
    assert.equal(checked.rebuilt, 0);
    assert.deepEqual(await s.differences(), broken);

    const report = await rebuild();
    assert.equal(report.failures.length, 0);
    assert.equal(report.driftedBefore, 2);
    assert.ok(report.entriesRewritten >= 3, `${report.entriesRewritten} entries rewritten`);
    assert.equal(report.entriesApplied, 0);
    assert.deepEqual(await s.differences(), []);
    await cacheMatchesRows();
  });

  test('while transfers keep flowing, the rebuild and the consumer both apply, nothing twice', async () => {
    await db().query('DELETE FROM balance.entries WHERE account_id = ANY($1::uuid[])', [[users[1]!.id, users[3]!.id]]);
    await db().query('DELETE FROM balance.balances WHERE account_id = ANY($1::uuid[])', [[users[1]!.id, users[3]!.id]]);
    const flowing = (async () => {
      for (let i = 0; i < 20; i++) await s.transfer(users[0]!, users[1 + (i % 4)]!.id, 10n);
    })();
    const report = await rebuild();
    await flowing;
    assert.equal(report.failures.length, 0, JSON.stringify(report.failures));
    await s.settled();
    assert.deepEqual(await s.differences(), []);
    await cacheMatchesRows();
  });

  test('npm run balance:rebuild: the command, with the service\'s environment', async () => {
    await db().query('UPDATE balance.balances SET pending = pending + 1 WHERE account_id = $1', [users[5]!.id]);
    const { status, stdout, stderr } = await runCommand(['--json', '--concurrency', '3'], s.env);
    assert.equal(status, 0, `${stdout}\n${stderr}`);
    const report = JSON.parse(stdout) as { accounts: number; driftedBefore: number; rebuilt: number; failures: unknown[]; seconds: number; check: boolean };
    assert.equal(report.accounts, await ledgerAccounts());
    assert.equal(report.rebuilt, report.accounts);
    assert.equal(report.driftedBefore, 1);
    assert.deepEqual(report.failures, []);
    assert.deepEqual(await s.differences(), []);

    const text = await runCommand(['--check'], s.env);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /balance check \(nothing changed\)/);
    assert.match(text.stdout, /drifted before\s+0/);

    const bad = await runCommand(['--concurrency', 'x'], s.env);
    assert.equal(bad.status, 2);
    const { INTERNAL_CLIENT_SECRET: _secret, ...withoutSecret } = s.env;
    const missing = await runCommand([], { ...withoutSecret, INTERNAL_CLIENT_SECRET: '' });
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /INTERNAL_CLIENT_SECRET is required/);
  });
});
