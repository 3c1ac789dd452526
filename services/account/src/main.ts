// Runs the account service alone against real PostgreSQL, RabbitMQ and Redis.
import { runStandalone } from '@wallet/kit';
import { createAccountService } from './app.ts';
import { loadConfig } from './config.ts';

const config = loadConfig(process.env);
await runStandalone(config.common, 'account', (infra) => createAccountService(config, infra));
