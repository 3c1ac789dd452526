import { tracingConfig, type TracingConfig } from './telemetry.ts';

// Helpers to read configuration. Only config.ts files (and launchers) pass process.env here.
export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {}

export function str(env: Env, name: string, fallback?: string): string {
  const value = env[name] ?? fallback;
  if (value === undefined || value === '') throw new ConfigError(`${name} is required`);
  return value;
}

export function optional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

export function int(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

export function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name] ?? fallback;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be one of ${values.join(', ')}`);
  return raw as T;
}

/** Shared settings every service reads: where the infrastructure and the other services are. */
export interface CommonConfig {
  mode: 'embedded' | 'real';
  /** Prefix of exchange, queue and cache key names, so several stacks can share one broker and Redis. */
  namespace: string;
  host: string;
  databaseUrl: string;
  databasePoolMax: number;
  rabbitmqUrl: string;
  redisUrl: string;
  logLevel: string;
  urls: { alias: string; account: string; transaction: string; balance: string; gateway: string };
  /**
   * Every instance of each service: `ALIAS_URL` and the like may list several, comma-separated (calls
   * between services go round them); `urls` holds the first. In Kubernetes, one Service name each.
   */
  instances: { alias: string[]; account: string[]; transaction: string[]; balance: string[] };
  ports: { alias: number; account: number; transaction: number; balance: number; gateway: number };
  tokenIssuer: string;
  tokenAudience: string;
  internalClientSecret: string;
  /** OpenTelemetry tracing (off unless an OTLP endpoint is set). */
  tracing: TracingConfig;
}

export const defaultPorts = { gateway: 8080, alias: 8081, account: 8082, transaction: 8083, balance: 8084 } as const;

export function commonConfig(env: Env): CommonConfig {
  const ports = {
    gateway: int(env, 'GATEWAY_PORT', defaultPorts.gateway, 0, 65535),
    alias: int(env, 'ALIAS_PORT', defaultPorts.alias, 0, 65535),
    account: int(env, 'ACCOUNT_PORT', defaultPorts.account, 0, 65535),
    transaction: int(env, 'TRANSACTION_PORT', defaultPorts.transaction, 0, 65535),
    balance: int(env, 'BALANCE_PORT', defaultPorts.balance, 0, 65535),
  };
  const local = (port: number) => `http://127.0.0.1:${port}`;
  const list = (name: string, port: number) => {
    const urls = str(env, name, local(port)).split(',').map((url) => url.trim()).filter(Boolean);
    if (urls.length === 0) throw new ConfigError(`${name} lists no URL`);
    return urls;
  };
  const instances = {
    alias: list('ALIAS_URL', ports.alias),
    account: list('ACCOUNT_URL', ports.account),
    transaction: list('TRANSACTION_URL', ports.transaction),
    balance: list('BALANCE_URL', ports.balance),
  };
  return {
    mode: oneOf(env, 'WALLET_MODE', ['embedded', 'real'] as const, 'real'),
    namespace: str(env, 'WALLET_NAMESPACE', 'wallet'),
    host: str(env, 'HOST', '127.0.0.1'),
    databaseUrl: str(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/postgres'),
    databasePoolMax: int(env, 'DATABASE_POOL_MAX', 4, 1, 100),
    rabbitmqUrl: str(env, 'RABBITMQ_URL', 'amqp://guest:guest@127.0.0.1:5672'),
    redisUrl: str(env, 'REDIS_URL', 'redis://127.0.0.1:6379'),
    logLevel: str(env, 'LOG_LEVEL', 'info'),
    ports,
    urls: {
      gateway: str(env, 'GATEWAY_URL', local(ports.gateway)),
      alias: instances.alias[0]!,
      account: instances.account[0]!,
      transaction: instances.transaction[0]!,
      balance: instances.balance[0]!,
    },
    instances,
    tokenIssuer: str(env, 'TOKEN_ISSUER', 'wallet'),
    tokenAudience: str(env, 'TOKEN_AUDIENCE', 'wallet-api'),
    // Services authenticate to each other with client credentials; never a built-in default.
    internalClientSecret: str(env, 'INTERNAL_CLIENT_SECRET'),
    tracing: tracingConfig(env),
  };
}
