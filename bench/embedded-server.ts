// The embedded (all-in-one) wallet as a child of the bench, so its memory can be measured alone.
// Started by lib/stack.ts with the bench's environment; reports the gateway's address over IPC
// and stops cleanly on SIGTERM, leaving its PGlite files in BENCH_DATA_DIR for the checks.
import { startEmbedded } from '@wallet/launcher';
import type { Env } from '@wallet/kit';

const env: Env = { ...process.env };
const dataDir = env.BENCH_DATA_DIR;
if (!dataDir) throw new Error('BENCH_DATA_DIR is required');

const stack = await startEmbedded({ dataDir, env });
process.send?.({ gatewayUrl: stack.gatewayUrl });

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await stack.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// The bench went away without stopping us: stop too.
process.on('disconnect', () => void stop());
