// Runs the gateway alone: read config → build the app → listen; drains on SIGTERM.
import { runStandalone } from '@wallet/kit';
import { createGatewayService } from './app.ts';
import { loadConfig } from './config.ts';

const config = loadConfig(process.env);
await runStandalone(config.common, 'gateway', (infra) => createGatewayService(config, infra));
