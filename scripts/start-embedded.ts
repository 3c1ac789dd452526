// `npm start`: the whole wallet in one process, no servers to install. Data stays in .data/.
import { resolve } from 'node:path';
import { startEmbedded } from '@wallet/launcher';

const dataDir = resolve(process.env.WALLET_DATA_DIR ?? '.data');
const stack = await startEmbedded({ dataDir, env: process.env }).catch((error: NodeJS.ErrnoException) => {
  if (error.code === 'EADDRINUSE') console.error(`A port is already in use (${error.message}). Stop the other instance or set GATEWAY_PORT, ALIAS_PORT, ACCOUNT_PORT, TRANSACTION_PORT, BALANCE_PORT.`);
  else console.error(error);
  process.exit(1);
});

const { secrets } = stack;
console.log(`
  Wallet is running (embedded mode: PGlite, in-process bus, memory cache)
  Data folder:   ${dataDir}

  Web app:       ${stack.gatewayUrl}/   (operators: ${stack.gatewayUrl}/operator/login)
  API:           ${stack.gatewayUrl}
  API docs:      ${stack.gatewayUrl}/docs

  Operator client (for deposits and withdrawals)${secrets.generated ? ' — generated now, kept in the data folder' : ''}:
    OPERATOR_CLIENT_ID=${secrets.OPERATOR_CLIENT_ID}
    OPERATOR_CLIENT_SECRET=${secrets.OPERATOR_CLIENT_SECRET}

  Try it: the README's walk-through signs up two people, funds one and sends money by alias.
  Stop with Ctrl+C.
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
