// The account service's settings, read once at boot from the environment it is given.
import { commonConfig, int, type CommonConfig, type Env } from '@wallet/kit';

export interface AccountConfig {
  common: CommonConfig;
  /** Accounts a person may hold that are not closed. */
  accountsPerUserMax: number;
}

export function loadConfig(env: Env): Readonly<AccountConfig> {
  return Object.freeze({
    common: commonConfig(env),
    accountsPerUserMax: int(env, 'ACCOUNTS_PER_USER_MAX', 10, 1, 1000),
  });
}
