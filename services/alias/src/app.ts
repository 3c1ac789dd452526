// The alias service: users, their aliases and credentials, the token endpoint and its keys.
import { fileURLToPath } from 'node:url';
import {
  authenticate,
  createService,
  createTokenVerifier,
  serviceReadiness,
  kitMigrationsDir,
  migrate,
  observeBus,
  observePool,
  requireScope,
  scopes,
  tokenBucketsOf,
  type Infra,
  type RunningService,
} from '@wallet/kit';
import type { AliasConfig } from './config.ts';
import { createAuth, retiredGraceSeconds } from './auth/setup.ts';
import { openKeyRing } from './auth/keys.ts';
import { createPasswords } from './auth/passwords.ts';
import { createTokenIssuer } from './auth/tokens.ts';
import { clientRegistry, type ClientCredentials } from './domain/clients.ts';
import { createLookups } from './directory/lookup.ts';
import { createOwnAliases } from './directory/own-aliases.ts';
import { codeKey } from './domain/verification.ts';
import { accountEventHandler, accountEventsQueue, accountEventsTopics } from './events/accounts.ts';
import { createNotifier, type Notifier } from './notify/index.ts';
import { aliasRoutes } from './http/aliases.ts';
import { internalRoutes } from './http/internal.ts';
import { jwksRoutes, signingKeyRoutes } from './http/jwks.ts';
import { meRoutes } from './http/me.ts';
import { tokenRoutes } from './http/token.ts';
import { usersRoutes } from './http/users.ts';

export const SCHEMA = 'alias';
const migrationsDir = fileURLToPath(new URL('./store/migrations', import.meta.url));
export const serviceClientIds = ['svc-account', 'svc-transaction', 'svc-balance', 'svc-gateway'] as const;

export interface AliasServiceOptions {
  /** Replaces the notifier chosen from the configuration (tests read the codes from it). */
  notifier?: Notifier;
}

export async function createAliasService(config: AliasConfig, infra: Infra, options: AliasServiceOptions = {}): Promise<RunningService> {
  const { db, bus } = infra;
  await migrate(db, SCHEMA, [kitMigrationsDir, migrationsDir]);

  const keys = await openKeyRing(db, { reloadCooldownMs: config.signingKeysReloadCooldownMs, retiredGraceSeconds: retiredGraceSeconds(config) });
  const passwords = await createPasswords();
  const tokens = createTokenIssuer({ keys, issuer: config.common.tokenIssuer, audience: config.common.tokenAudience, accessTokenTtlSeconds: config.accessTokenTtlSeconds });
  const clients: ClientCredentials[] = serviceClientIds.map((id) => ({ id, secret: config.common.internalClientSecret, scope: scopes.internal }));
  if (config.operatorClient) clients.push({ ...config.operatorClient, scope: scopes.operator });
  // This service owns the keys: it verifies tokens against them directly, never over HTTP.
  const verifier = createTokenVerifier(
    { jwksUrl: new URL('/.well-known/jwks.json', config.common.urls.alias).toString(), issuer: config.common.tokenIssuer, audience: config.common.tokenAudience },
    keys.getKey,
  );

  const { app, metrics } = await createService({
    name: 'alias',
    logLevel: config.common.logLevel,
    readiness: serviceReadiness(infra, { redis: true }),
    // X-Forwarded-For is believed from the gateway only (SERVICE_TRUSTED_PROXIES): login throttling counts per client address.
    trustProxy: config.auth.trustedProxies.length > 0 ? [...config.auth.trustedProxies] : false,
  });
  observePool(metrics, db);
  observeBus(metrics, bus);
  const clientsById = clientRegistry(clients);
  const auth = await createAuth({ config, db, keys, passwords, tokens, clients: clientsById, log: app.log });

  const notifier = options.notifier ?? createNotifier({ mode: config.common.mode, smtpUrl: config.directory.smtpUrl, smtpFrom: config.directory.smtpFrom }, app.log);
  const ownAliases = createOwnAliases({ db, notifier, config: config.directory, codeKey: codeKey(config.directory.codeSecret ?? config.common.internalClientSecret), log: app.log });
  const lookup = createLookups({ db, buckets: tokenBucketsOf(infra.cache, app.log), rule: config.directory.lookup, log: app.log });

  await app.register(usersRoutes({ db, passwords }));
  await app.register(tokenRoutes({ grants: auth.grants, sessions: auth.sessions, clients: clientsById, verifier }));
  await app.register(jwksRoutes({ keys, discovery: { issuer: config.common.tokenIssuer, baseUrl: config.common.urls.gateway, scopes: Object.values(scopes) } }));
  await app.register(async (authenticated) => {
    authenticated.addHook('onRequest', authenticate(verifier));
    // Revoked access tokens and tokens of ended sessions stop here (other services wait for their expiry).
    authenticated.addHook('onRequest', auth.sessions.guard);
    await authenticated.register(meRoutes({ db, account: auth.account, mfa: auth.mfa, sessions: auth.sessions }));
    await authenticated.register(async (operator) => {
      operator.addHook('onRequest', requireScope(scopes.operator));
      await operator.register(signingKeyRoutes({ keys, publishDelaySeconds: config.auth.signingKeys.publishDelaySeconds }));
    });
    await authenticated.register(aliasRoutes({ db, lookup, own: ownAliases }));
    await authenticated.register(async (internal) => {
      internal.addHook('onRequest', requireScope(scopes.internal));
      await internal.register(internalRoutes({ db }));
    });
  });

  return {
    name: 'alias',
    app,
    async start() {
      await bus.subscribe({ queue: accountEventsQueue, topics: accountEventsTopics, handler: accountEventHandler({ db, log: app.log }), prefetch: 20 });
      auth.housekeeping.start();
    },
    async stop() {
      // The bus has no per-queue unsubscribe: consumers stop when the launcher closes the infra.
      await auth.housekeeping.stop();
      await app.close();
      await notifier.close();
    },
  };
}
