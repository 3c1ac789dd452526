// The transaction service: the ledger of record. Money moves here and only here.
import { fileURLToPath } from 'node:url';
import {
  clientCredentials,
  createService,
  createServiceClient,
  createTokenVerifier,
  kitMigrationsDir,
  migrate,
  startOutboxRelay,
  type Infra,
  type RunningService,
  databaseAndBroker,
} from '@wallet/kit';
import type { TransactionConfig } from './config.ts';
import { createDirectory } from './directory.ts';
import { accountEventHandler } from './events/account-events.ts';
import { internalRoutes } from './http/internal.ts';
import { transferRoutes } from './http/transfers.ts';
import { statementRoutes } from './http/statement.ts';
import { createTransferService } from './transfers.ts';
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
    readiness: databaseAndBroker(infra),
  });

  const verifier = createTokenVerifier({ jwksUrl: `${common.urls.alias}/.well-known/jwks.json`, issuer: common.tokenIssuer, audience: common.tokenAudience });
  const tokens = clientCredentials(`${common.urls.alias}/v1/auth/token`, 'svc-transaction', common.internalClientSecret);
  const directory = createDirectory(
    db,
    createServiceClient({ name: 'account', baseUrl: common.urls.account, tokens }),
    createServiceClient({ name: 'alias', baseUrl: common.urls.alias, tokens }),
  );
  const relay = startOutboxRelay({ db, bus, schema: 'ledger', log: app.log });
  const counters = ledgerMetrics(metrics);
  const transfers = createTransferService({
    db,
    directory,
    groupSizeMax: config.transferGroupSizeMax,
    groupsInFlightMax: config.transferGroupsInFlightMax,
    groupLingerMs: config.transferGroupLingerMs,
    onCommit: (outcomes) => {
      counters.observe(outcomes);
      if (outcomes.some((o) => o.ok && o.value.status === 201 && !o.value.replayed)) relay.wake();
    },
  });

  const sweeper = startIdempotencySweeper(db, config.idempotencyRetentionHours, config.idempotencySweepIntervalMs, app.log);

  await app.register(transferRoutes({ config, db, verifier, transfers, directory }));
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
      await app.close();
      await relay.stop();
    },
  };
}
