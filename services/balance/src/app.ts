// The balance service: a read model of every account's balance, fed by ledger events.
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
  type OutboxRelay,
  type RunningService,
  outboxBacklog,
  serviceReadiness,
} from '@wallet/kit';
import type { BalanceConfig } from './config.ts';
import { partitionSubscriptions } from './events/consumer.ts';
import { LEGACY_QUEUE, ownPartitions, routerSubscription } from './events/partitions.ts';
import { createLedgerClient } from './events/ledger-client.ts';
import { createChangeHub } from './events/changes.ts';
import { createConsumerMetrics, createDriftMetrics } from './events/metrics.ts';
import { createProjector, type ProjectorStats } from './events/projector.ts';
import { balanceRoutes, createLedgerBalances } from './http/balance-routes.ts';
import { alertRoutes } from './http/alert-routes.ts';
import { createBalanceHistory, historyRoutes } from './http/history-routes.ts';
import { createAlertEvaluator, type AlertEvaluator } from './jobs/alerts.ts';
import { createDriftChecker, type DriftChecker } from './jobs/drift.ts';
import { createRepairer } from './rebuild/repair.ts';
import { createBalanceCache } from './store/balance-cache.ts';
import { createBalanceReader } from './store/balance-reader.ts';
import { SCHEMA } from './store/balances.ts';

const migrationsDir = fileURLToPath(new URL('./store/migrations', import.meta.url));

export interface BalanceService extends RunningService {
  /** Counters of the event consumer since start. */
  readonly stats: Readonly<ProjectorStats>;
  /** Balance alerts: evaluated after the projector's commits and by a periodic sweep. */
  readonly alerts: AlertEvaluator;
  /** The periodic drift check against the ledger (runs on its own every BALANCE_DRIFT_CHECK_INTERVAL_MS). */
  readonly drift: DriftChecker;
}

export async function createBalanceService(config: Readonly<BalanceConfig>, infra: Infra): Promise<BalanceService> {
  const { common } = config;
  await migrate(infra.db, SCHEMA, [kitMigrationsDir, migrationsDir]);

  const { app, metrics } = await createService({
    name: 'balance',
    logLevel: common.logLevel,
    // Redis down only degrades it: reads come from PostgreSQL.
    readiness: serviceReadiness(infra, { redis: true, outboxBacklog: () => outboxBacklog(infra.db, SCHEMA) }),
  });

  const cache = createBalanceCache({
    cache: infra.cache,
    log: app.log,
    timeoutMs: config.cacheTimeoutMs,
    staleAccountsMax: config.staleAccountsMax,
  });
  const transaction = createServiceClient({
    name: 'transaction',
    baseUrl: common.instances.transaction,
    tokens: clientCredentials(`${common.urls.alias}/v1/auth/token`, 'svc-balance', common.internalClientSecret),
    metrics,
  });
  observePool(metrics, infra.db);
  observeOutbox(metrics, infra.db, SCHEMA);
  observeBus(metrics, infra.bus);
  const consumerMetrics = createConsumerMetrics(metrics);
  // Wakes balance streams and reads waiting for a sequence, here and on the other replicas (Redis pub/sub).
  const changes = createChangeHub({ cache: infra.cache, log: app.log.child({ component: 'changes' }) });
  let relay: OutboxRelay | undefined;
  const alerts = createAlertEvaluator({
    db: infra.db,
    log: app.log.child({ component: 'alerts' }),
    ...config.alerts,
    onTriggered: () => relay?.wake(),
  });
  const projector = createProjector({
    db: infra.db,
    cache,
    ledger: createLedgerClient(transaction),
    ledgerPageSize: config.ledgerPageSize,
    repairPagesMax: config.repairPagesMax,
    observer: consumerMetrics,
    // Every listener of committed changes; none may throw or wait (alerts only queue the accounts).
    onCommitted: (touched) => {
      alerts.touched(touched);
      changes.committed(touched);
    },
  });
  // The drift check compares every projected balance with the ledger at the same sequence and
  // repairs what differs, under the row locks the projector takes (jobs/drift.ts, rebuild/).
  const ledgerReader = createLedgerClient(transaction);
  const driftMetrics = createDriftMetrics(metrics);
  const drift = createDriftChecker({
    db: infra.db,
    cache,
    ledger: ledgerReader,
    repairer: createRepairer({
      db: infra.db,
      cache,
      ledger: ledgerReader,
      pageSize: config.ledgerPageSize,
      // A repaired balance is a change like any other for the alerts and the balance streams.
      onCommitted: (touched) => {
        alerts.touched(touched);
        changes.committed(touched);
      },
    }),
    log: app.log.child({ component: 'drift' }),
    observer: driftMetrics,
    pageSize: config.drift.pageSize,
    accountsPerRunMax: config.drift.accountsPerRunMax,
    repair: config.drift.repair,
  });
  const verifier = createTokenVerifier({
    jwksUrl: `${common.urls.alias}/.well-known/jwks.json`,
    issuer: common.tokenIssuer,
    audience: common.tokenAudience,
  });
  await balanceRoutes(app, {
    verifier,
    reader: createBalanceReader(infra.db, cache, app.log),
    history: createBalanceHistory(infra.db),
    changes,
    ledger: createLedgerBalances(transaction),
    minSequenceWaitMs: config.minSequenceWaitMs,
    streamHeartbeatMs: config.streamHeartbeatMs,
    streamsMax: config.streamsMax,
    metrics,
  });
  await historyRoutes(app, { verifier, db: infra.db });
  await alertRoutes(app, { verifier, db: infra.db, perAccountMax: config.alerts.perAccountMax });

  let retryTimer: NodeJS.Timeout | undefined;
  let standbyTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  const retryCacheWrites = () => {
    retryTimer = setTimeout(() => {
      void cache.retryStale().finally(() => {
        if (!stopped) retryCacheWrites();
      });
    }, config.cacheRetryIntervalMs);
    retryTimer.unref();
  };

  return {
    name: 'balance',
    app,
    stats: projector.stats,
    alerts,
    drift,
    async start() {
      // balance.alert_triggered events leave through this service's outbox.
      relay ??= startOutboxRelay({ db: infra.db, bus: infra.bus, schema: SCHEMA, log: app.log, pollIntervalMs: 1000 });
      alerts.start();
      const consumerLog = app.log.child({ component: 'consumer' });
      const { own, standby } = ownPartitions(config.partitions, config.replicaIndex, config.replicas);
      const subscribe = (partitions: number[]) =>
        Promise.all(
          partitionSubscriptions(projector, consumerLog, partitions, {
            prefetch: config.consumerPrefetch,
            batchEventsMax: config.batchEventsMax,
            onRejected: (reason) => {
              consumerMetrics.rejected(reason);
              // A contradiction means the projection or the event is wrong: either way, drift.
              if (reason !== 'malformed') driftMetrics.suspect();
            },
          }).map((s) => infra.bus.subscribe(s)),
        );
      // Own partitions first, so this replica is their active consumer when replicas start together.
      await subscribe(own);
      await infra.bus.subscribe(routerSubscription(infra.bus, config.partitions));
      await infra.bus.retireQueue(LEGACY_QUEUE);
      if (standby.length > 0) {
        standbyTimer = setTimeout(() => {
          subscribe(standby).catch((error: unknown) => consumerLog.error({ err: error }, 'standing by on the other partitions failed'));
        }, config.standbyDelayMs);
        standbyTimer.unref();
      }
      retryCacheWrites();
      if (config.drift.intervalMs > 0) drift.start(config.drift.intervalMs, config.drift.firstDelayMs);
    },
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(standbyTimer);
      await drift.stop();
      await app.close(); // ends the open balance streams first
      changes.close();
      await alerts.stop();
      await relay?.stop();
    },
  };
}
