import { runStandalone } from '@wallet/kit';
import { createTransactionService } from './app.ts';
import { loadConfig } from './config.ts';

const config = loadConfig(process.env);
await runStandalone(config.common, 'transaction', (infra) => createTransactionService(config, infra));
