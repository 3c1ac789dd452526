// `npm run start:real`: each service its own process against PostgreSQL, RabbitMQ and Redis
// (DATABASE_URL, RABBITMQ_URL, REDIS_URL; defaults are the local servers).
import { startProcesses } from '@wallet/launcher';

if (!process.env.OPERATOR_CLIENT_ID || !process.env.OPERATOR_CLIENT_SECRET) {
  console.warn('OPERATOR_CLIENT_ID and OPERATOR_CLIENT_SECRET are not set: there is no operator client, so no deposits or withdrawals.');
}
const stack = await startProcesses({ env: process.env }).catch((error) => {
  console.error(String(error));
  process.exit(1);
});
console.log(`\n  Wallet is running (real mode, one process per service)\n  Web app: ${stack.gatewayUrl}/\n  API: ${stack.gatewayUrl}   docs: ${stack.gatewayUrl}/docs\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void stack.stop().then(() => process.exit(0)));
}
