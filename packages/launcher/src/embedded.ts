// Embedded mode: every service in one process on PGlite, the in-process bus and a memory cache.
// The same service code as production; only the infrastructure differs.
import { join } from 'node:path';
import pino from 'pino';
import { commonConfig, logTraceFields, startTracing, createMemoryBus, createMemoryCache, createPgliteDb, openPglite, type Env, type Infra, type RunningService } from '@wallet/kit';
import { embeddedSecrets, type Secrets } from './secrets.ts';
import { createServiceByName, serviceNames } from './services.ts';

export interface EmbeddedStack {
  gatewayUrl: string;
  secrets: Secrets & { generated: boolean };
  services: RunningService[];
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Where PGlite and the generated secrets live; undefined keeps everything in memory. */
  dataDir?: string;
  env?: Env;
}

export async function startEmbedded({ dataDir, env = {} }: EmbeddedOptions): Promise<EmbeddedStack> {
  const secrets = embeddedSecrets(env, dataDir);
  const { generated: _generated, ...credentials } = secrets;
  const fullEnv: Env = { ...env, ...credentials, WALLET_MODE: 'embedded' };
  const common = commonConfig(fullEnv);
  const log = pino({ level: common.logLevel, base: { service: 'embedded' }, mixin: logTraceFields });
  // One process, one tracer provider: every service's spans carry the service name "wallet".
  const tracing = startTracing(common.tracing, 'wallet');
  const pglite = await openPglite(dataDir ? join(dataDir, 'pglite') : undefined);
  const infra: Infra = { db: createPgliteDb(pglite), bus: createMemoryBus(log), cache: createMemoryCache() };

  const services: RunningService[] = [];
  const stop = async () => {
    for (const service of [...services].reverse()) await service.stop().catch((error) => log.error({ err: error }, 'stop failed'));
    await infra.bus.close();
    await pglite.close();
    await tracing.shutdown();
  };
  try {
    for (const name of serviceNames) {
      const service = await createServiceByName(name, fullEnv, infra);
      services.push(service);
      await service.app.listen({ host: common.host, port: common.ports[name] });
    }
    for (const service of services) await service.start();
  } catch (error) {
    await stop();
    throw error;
  }
  return { gatewayUrl: common.urls.gateway, secrets, services, stop };
}
