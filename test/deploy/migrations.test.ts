// Replicas start at once in a rollout and each migrates its service's schema at start
// (packages/kit/src/migrate.ts). The advisory lock makes that safe: one applies, the others wait
// and find nothing left to do.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createPgDb, kitMigrationsDir, migrate, type Db } from '@wallet/kit';
import { createTestInfra, needsInfra, type TestInfra } from '@wallet/testkit';

const accountMigrations = fileURLToPath(new URL('../../services/account/src/store/migrations', import.meta.url));
const ledgerMigrations = fileURLToPath(new URL('../../services/transaction/src/store/migrations', import.meta.url));

describe('migrations started by several replicas at once', async () => {
  const { skip } = await needsInfra();
  let infra: TestInfra;
  const replicas: Db[] = [];

  before(async () => {
    if (skip) return;
    infra = await createTestInfra();
    // One pool per replica, as separate processes would have.
    for (let k = 0; k < 6; k++) replicas.push(createPgDb(infra.databaseUrl, 2));
  });
  after(async () => {
    await Promise.all(replicas.map((db) => db.close()));
    await infra?.destroy();
  });

  test('each file is applied exactly once and every replica starts', { skip }, async () => {
    const results = await Promise.all(
      replicas.map((db, k) => (k % 2 === 0 ? migrate(db, 'account', [kitMigrationsDir, accountMigrations]) : migrate(db, 'ledger', [kitMigrationsDir, ledgerMigrations]))),
    );
    for (const [schema, applied] of [['account', results.filter((_, k) => k % 2 === 0)], ['ledger', results.filter((_, k) => k % 2 === 1)]] as const) {
      const nonEmpty = applied.filter((files) => files.length > 0);
      assert.equal(nonEmpty.length, 1, `${schema}: one replica applied the migrations, the others found them done`);
      const rows = await infra.db.query<{ name: string; n: string }>(`SELECT name, count(*)::text AS n FROM ${schema}.migrations GROUP BY name ORDER BY name`);
      assert.deepEqual(rows.rows.map((r) => r.name), [...nonEmpty[0]!].sort());
      assert.ok(rows.rows.every((r) => r.n === '1'));
    }
    // Started again (a restart, a scale-up): nothing to do.
    assert.deepEqual(await migrate(replicas[0]!, 'account', [kitMigrationsDir, accountMigrations]), []);
  });
});
