// Runs the balance service alone against PostgreSQL, RabbitMQ and Redis.
import { runStandalone } from '@wallet/kit';
import { createBalanceService } from './app.ts';
import { loadConfig } from './config.ts';

const config = loadConfig(process.env);
await runStandalone(config.common, 'balance', (infra) => createBalanceService(config, infra));
