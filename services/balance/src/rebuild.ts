// `npm run balance:rebuild` — rebuilds every balance projection (rows, history, cached copies) from
// the ledger, through the transaction service's internal routes, with the same environment as the
// service (DATABASE_URL, REDIS_URL, WALLET_NAMESPACE, TRANSACTION_URL, ALIAS_URL, INTERNAL_CLIENT_SECRET…).
// Safe while the service runs: each account is rewritten under its row lock (rebuild/repair.ts).
//
//   npm run balance:rebuild [-- --check] [--concurrency N] [--json]
//
// Progress on stderr; the report on stdout. Exit status 0 when every account was rebuilt, 1 otherwise.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { clientCredentials, createPgDb, createRedisCache, createServiceClient, kitMigrationsDir, migrate } from '@wallet/kit';
import { loadConfig } from './config.ts';
import { createLedgerClient } from './events/ledger-client.ts';
import { rebuildAll, type RebuildReport } from './rebuild/run.ts';
import { createBalanceCache } from './store/balance-cache.ts';
import { SCHEMA } from './store/balances.ts';

const usage = `usage: npm run balance:rebuild [-- --check] [--concurrency N] [--json]
  --check          only compare every projected balance with the ledger and report; change nothing
  --concurrency N  accounts rebuilt at once (default 2, at most 32)
  --json           print the report as JSON`;

function parse() {
  try {
    const { values } = parseArgs({
      options: { check: { type: 'boolean', default: false }, concurrency: { type: 'string', default: '2' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
      strict: true,
    });
    const concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) throw new Error('--concurrency must be an integer from 1 to 32');
    return { check: values.check, concurrency, json: values.json, help: values.help };
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
    process.exit(2);
  }
}

function printReport(report: RebuildReport, check: boolean, cacheStale: number) {
  const lines = [
    check ? 'balance check (nothing changed)' : 'balance rebuild',
    `  accounts           ${report.accounts}`,
    `  drifted before     ${report.driftedBefore}`,
    `  behind before      ${report.laggingBefore}`,
    ...(check
      ? []
      : [
          `  rebuilt            ${report.rebuilt}`,
          `  ledger entries     ${report.entriesRead} read, ${report.entriesRewritten} history entries rewritten, ${report.entriesApplied} applied`,
        ]),
    `  unknown to ledger  ${report.unknown}`,
    `  failed             ${report.failures.length}`,
    `  time               ${report.seconds.toFixed(1)} s`,
  ];
  if (cacheStale > 0) lines.push(`  cache writes that failed: ${cacheStale} (the service's drift check rewrites them)`);
  for (const drift of report.drifts) {
    lines.push(
      `  drift ${drift.kind} ${drift.accountId} at sequence ${drift.sequence}: projected ${drift.projected ? `${drift.projected.posted}/${drift.projected.pending}` : '-'}, ledger ${drift.ledger ? `${drift.ledger.balance}/${drift.ledger.pending}` : '-'} (${drift.detail})`,
    );
  }
  for (const failure of report.failures.slice(0, 50)) lines.push(`  failed ${failure.accountId}: ${failure.error}`);
  console.log(lines.join('\n'));
}

const options = parse();
if (options.help) {
  console.log(usage);
  process.exit(0);
}
const config = loadConfig(process.env);
if (config.common.mode !== 'real') {
  console.error('balance:rebuild works on the real mode (PostgreSQL, Redis); the embedded mode keeps its database inside the running process');
  process.exit(2);
}

// Warnings go to stderr after the progress bar, so they do not tear it apart.
const notes: string[] = [];
const note = (level: string) => (obj: object, msg: string) => {
  if (notes.length < 100) notes.push(`${level}: ${msg} ${JSON.stringify(obj, (_key, value: unknown) => (value instanceof Error ? value.message : value))}`);
};
const log = { info: () => undefined, warn: note('warn'), error: note('error') };

const db = createPgDb(config.common.databaseUrl, options.concurrency + 1);
const redis = createRedisCache(config.common.redisUrl, log, config.common.namespace);
const cache = createBalanceCache({ cache: redis, log, timeoutMs: config.cacheTimeoutMs, staleAccountsMax: config.staleAccountsMax });
const transaction = createServiceClient({
  name: 'transaction',
  baseUrl: config.common.instances.transaction,
  tokens: clientCredentials(`${config.common.urls.alias}/v1/auth/token`, 'svc-balance', config.common.internalClientSecret),
  timeoutMs: 10_000,
});

let status = 0;
const bar = new cliProgress.SingleBar(
  { stream: process.stderr, format: '{bar} {percentage}% | {value}/{total} accounts | {entries} ledger entries | {duration_formatted}', hideCursor: true },
  cliProgress.Presets.shades_classic,
);
let barStarted = false;
try {
  await migrate(db, SCHEMA, [kitMigrationsDir, fileURLToPath(new URL('./store/migrations', import.meta.url))]);
  const report = await rebuildAll({
    db,
    cache,
    ledger: createLedgerClient(transaction),
    ledgerPageSize: config.ledgerPageSize,
    concurrency: options.concurrency,
    checkOnly: options.check,
    onProgress({ total, done, entries }) {
      if (!barStarted) {
        bar.start(Math.max(total ?? done, done), 0, { entries: 0 });
        barStarted = true;
      }
      if (done > bar.getTotal()) bar.setTotal(done);
      bar.update(done, { entries });
    },
  });
  if (barStarted) bar.stop();
  // A cached copy whose write failed is older than its row: try once more, then leave it to the service's drift check.
  const cacheStale = await cache.retryStale();
  for (const line of notes) console.error(line);
  if (options.json) {
    console.log(JSON.stringify({ ...report, check: options.check, cacheStale }, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2));
  } else printReport(report, options.check, cacheStale);
  if (report.failures.length > 0) status = 1;
} catch (error) {
  if (barStarted) bar.stop();
  for (const line of notes) console.error(line);
  console.error(`balance:rebuild failed: ${error instanceof Error ? error.message : String(error)}`);
  status = 1;
} finally {
  transaction.breaker.shutdown();
  await redis.close();
  await db.close();
}
process.exit(status);
