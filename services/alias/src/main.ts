// Runs the alias service alone against real PostgreSQL, RabbitMQ and Redis.
import { runStandalone } from '@wallet/kit';
import { createAliasService } from './app.ts';
import { loadConfig } from './config.ts';

const config = loadConfig(process.env);
await runStandalone(config.common, 'alias', (infra) => createAliasService(config, infra));
