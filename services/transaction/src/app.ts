// The transaction service: the ledger of record. Money moves here and only here.
import { fileURLToPath } from 'node:url';
import {
  clientCredentials,
  createService,
  createServiceClient,
  createTokenVerifier,
  kitMigrationsDir,
  migrate,
  observeBus,
  observeOutbox,
  observePool,
  startOutboxRelay,
  type Infra,
  type RunningService,
  outboxBacklog,
  serviceReadiness,
} from '@wallet/kit';
import type { TransactionConfig } from './config.ts';
import { createDirectory } from './directory.ts';
import { accountEventHandler } from './events/account-events.ts';
import { internalRoutes } from './http/internal.ts';
import { transferRoutes } from './http/transfers.ts';
import { statementRoutes } from './http/statement.ts';
import { createLedgerService } from './ledger/service.ts';
import { startHoldExpiry } from './jobs/hold-expiry.ts';
import { holdRoutes } from './http/holds.ts';
import { ledgerMetrics } from './metrics.ts';
import { startIdempotencySweeper } from './jobs/idempotency-sweeper.ts';

const migrationsDir = fileURLToPath(new URL('./store/migrations', import.meta.url));

export async function createTransactionService(config: TransactionConfig, infra: Infra): Promise<RunningService> {
  const { common } = config;
  const { db, bus } = infra;
  await migrate(db, 'ledger', [kitMigrationsDir, migrationsDir]);

  const { app, metrics } = await createService({
    name: 'transaction',
    logLevel: common.logLevel,
    bodyLimitBytes: config.bodyLimitBytes,
    readiness: serviceReadiness(infra, { outboxBacklog: () => outboxBacklog(infra.db, 'ledger') }),
  });

  const verifier = createTokenVerifier({ jwksUrl: `${common.urls.alias}/.well-known/jwks.json`, issuer: common.tokenIssuer, audience: common.tokenAudience });
  const tokens = clientCredentials(`${common.urls.alias}/v1/auth/token`, 'svc-transaction', common.internalClientSecret);
  const directory = createDirectory(
    db,
    createServiceClient({ name: 'account', baseUrl: common.instances.account, tokens, metrics }),
    createServiceClient({ name: 'alias', baseUrl: common.instances.alias, tokens, metrics }),
  );
  const relay = startOutboxRelay({ db, bus, schema: 'ledger', log: app.log });
  observePool(metrics, db);
  observeOutbox(metrics, db, 'ledger');
  observeBus(metrics, bus);
  const counters = ledgerMetrics(metrics);
  const ledger = createLedgerService({
    db,
    directory,
    policy: config.policy,
    groupSizeMax: config.transferGroupSizeMax,
    groupsInFlightMax: config.transferGroupsInFlightMax,
    groupLingerMs: config.transferGroupLingerMs,
    onCommit: (outcomes) => {
      counters.observe(outcomes);
      if (outcomes.some((o) => o.ok && !o.value.replayed)) relay.wake(); // refusals write an audit event too
    },
  });

  const sweeper = startIdempotencySweeper(db, config.idempotencyRetentionHours, config.idempotencySweepIntervalMs, app.log);
  const expiry = startHoldExpiry(db, ledger, config.holdExpiryIntervalMs, app.log);

  await app.register(transferRoutes({ config, db, verifier, ledger, directory }));
  await app.register(holdRoutes({ config, db, verifier, ledger, directory }));
  await app.register(internalRoutes(config, db, verifier));
  await app.register(statementRoutes(db, verifier, directory));

  return {
    name: 'transaction',
    app,
    async start() {
      await bus.subscribe({ queue: 'ledger.accounts', topics: ['account.*'], handler: accountEventHandler(db, directory) });
    },
    async stop() {
      sweeper.stop();
      expiry.stop();
      await app.close();
      await relay.stop();
    },
  };
}
