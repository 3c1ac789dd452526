// The five services by name, so launchers can build any of them from an environment.
import type { Env, Infra, RunningService } from '@wallet/kit';

export const serviceNames = ['alias', 'account', 'transaction', 'balance', 'gateway'] as const;
export type ServiceName = (typeof serviceNames)[number];

export async function createServiceByName(name: ServiceName, env: Env, infra: Infra): Promise<RunningService> {
  switch (name) {
    case 'alias': {
      const [{ createAliasService }, { loadConfig }] = await Promise.all([import('@wallet/alias'), import('@wallet/alias/config')]);
      return createAliasService(loadConfig(env), infra);
    }
    case 'account': {
      const [{ createAccountService }, { loadConfig }] = await Promise.all([import('@wallet/account'), import('@wallet/account/config')]);
      return createAccountService(loadConfig(env), infra);
    }
    case 'transaction': {
      const [{ createTransactionService }, { loadConfig }] = await Promise.all([import('@wallet/transaction'), import('@wallet/transaction/config')]);
      return createTransactionService(loadConfig(env), infra);
    }
    case 'balance': {
      const [{ createBalanceService }, { loadConfig }] = await Promise.all([import('@wallet/balance'), import('@wallet/balance/config')]);
      return createBalanceService(loadConfig(env), infra);
    }
    case 'gateway': {
      const [{ createGatewayService }, { loadConfig }] = await Promise.all([import('@wallet/gateway'), import('@wallet/gateway/config')]);
      return createGatewayService(loadConfig(env), infra);
    }
  }
}
