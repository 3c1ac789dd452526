// The account service: accounts, their status, and the settlement account of each currency.
import { fileURLToPath } from 'node:url';
import {
  createService,
  createTokenVerifier,
  kitMigrationsDir,
  migrate,
  observeOutbox,
  observePool,
  startOutboxRelay,
  type Infra,
  type OutboxRelay,
  type RunningService,
  outboxBacklog,
  serviceReadiness,
} from '@wallet/kit';
import { createAccounts } from './accounts.ts';
import type { AccountConfig } from './config.ts';
import { internalRoutes } from './http/internal-routes.ts';
import { publicRoutes } from './http/public-routes.ts';
import { SCHEMA } from './store/accounts.ts';

const migrationsDir = fileURLToPath(new URL('./store/migrations', import.meta.url));

export async function createAccountService(config: Readonly<AccountConfig>, infra: Infra): Promise<RunningService> {
  const { common } = config;
  await migrate(infra.db, SCHEMA, [kitMigrationsDir, migrationsDir]);

  const { app, metrics } = await createService({
    name: 'account',
    logLevel: common.logLevel,
    readiness: serviceReadiness(infra, { outboxBacklog: () => outboxBacklog(infra.db, SCHEMA) }),
  });
  observePool(metrics, infra.db);
  observeOutbox(metrics, infra.db, SCHEMA);

  let relay: OutboxRelay | undefined;
  const accounts = createAccounts({ db: infra.db, accountsPerUserMax: config.accountsPerUserMax, wakeRelay: () => relay?.wake() });
  const verifier = createTokenVerifier({
    jwksUrl: `${common.urls.alias}/.well-known/jwks.json`,
    issuer: common.tokenIssuer,
    audience: common.tokenAudience,
  });
  await app.register(publicRoutes({ accounts, verifier }));
  await app.register(internalRoutes({ accounts, verifier }));

  return {
    name: 'account',
    app,
    async start() {
      relay ??= startOutboxRelay({ db: infra.db, bus: infra.bus, schema: SCHEMA, log: app.log });
    },
    async stop() {
      await relay?.stop();
      relay = undefined;
      await app.close();
    },
  };
}
