// Starts the whole system for system tests: as separate processes on the real infrastructure, or
// embedded in this process. Either way the tests speak only HTTP to the gateway.
import { randomBytes } from 'node:crypto';
import { createTestInfra, servicePortsEnv, type TestInfra } from '@wallet/testkit';
import { startEmbedded, startProcesses, type ProcessStack } from '@wallet/launcher';
import type { Env } from '@wallet/kit';

export interface Stack {
  mode: 'real' | 'embedded';
  gatewayUrl: string;
  operator: { id: string; secret: string };
  /** Real mode only: the database, broker and cache behind the services. */
  infra?: TestInfra;
  /** The environment the services were started with (ports, namespace…). */
  env?: Env;
  processes?: ProcessStack;
  stop(): Promise<void>;
}

const testLimits: Env = {
  // System tests send many requests from one address; the limits themselves have their own tests.
  RATE_LIMIT_CALLER_MAX: '1000000',
  RATE_LIMIT_ANONYMOUS_MAX: '1000000',
  RATE_LIMIT_CREDENTIALS_MAX: '1000000',
  // Tests poll alias lookups until account events arrive; the lookup budget has its own tests.
  ALIAS_LOOKUP_BUCKET_CAPACITY: '1000000',
  ALIAS_LOOKUP_REFILL_PER_MINUTE: '1000000',
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
};

export interface RealStackOptions {
  /** Processes of each service (the launcher's option; default one of each). */
  replicas?: number;
  readyTimeoutMs?: number;
  /** Receives every line the services write (default: dropped unless TEST_LOG_LEVEL is set). */
  onOutput?: (service: string, line: string) => void;
}

export async function startRealStack(extraEnv: Env = {}, { replicas = 1, readyTimeoutMs, onOutput }: RealStackOptions = {}): Promise<Stack> {
  const infra = await createTestInfra();
  const operator = { id: 'operator-e2e', secret: randomBytes(18).toString('base64url') };
  const env: Env = {
    ...infra.env,
    ...(await servicePortsEnv()),
    ...testLimits,
    OPERATOR_CLIENT_ID: operator.id,
    OPERATOR_CLIENT_SECRET: operator.secret,
    INTERNAL_CLIENT_SECRET: randomBytes(18).toString('base64url'),
    ...extraEnv,
  };
  const quiet = process.env.TEST_LOG_LEVEL === undefined;
  let processes: ProcessStack;
  try {
    processes = await startProcesses({ env, replicas, readyTimeoutMs, onOutput: onOutput ?? (quiet ? () => undefined : undefined) });
  } catch (error) {
    await infra.destroy();
    throw error;
  }
  return {
    mode: 'real',
    gatewayUrl: processes.gatewayUrl,
    operator,
    infra,
    env,
    processes,
    async stop() {
      await processes.stop();
      await infra.destroy();
    },
  };
}

export async function startEmbeddedStack(extraEnv: Env = {}): Promise<Stack> {
  const operator = { id: 'operator-e2e', secret: randomBytes(18).toString('base64url') };
  const stack = await startEmbedded({
    env: { ...(await servicePortsEnv()), ...testLimits, OPERATOR_CLIENT_ID: operator.id, OPERATOR_CLIENT_SECRET: operator.secret, ...extraEnv },
  });
  return { mode: 'embedded', gatewayUrl: stack.gatewayUrl, operator, stop: stack.stop };
}
