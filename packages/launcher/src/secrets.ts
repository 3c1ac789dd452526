// Credentials the services need. Never built in: taken from the environment, or (embedded mode
// only) generated on first start and kept in the data folder.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '@wallet/kit';

export interface Secrets {
  OPERATOR_CLIENT_ID: string;
  OPERATOR_CLIENT_SECRET: string;
  INTERNAL_CLIENT_SECRET: string;
}

const secret = () => randomBytes(24).toString('base64url');

export function embeddedSecrets(env: Env, dataDir: string | undefined): Secrets & { generated: boolean } {
  const path = dataDir && join(dataDir, 'secrets.json');
  const stored: Partial<Secrets> = path && existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
  const secrets: Secrets = {
    OPERATOR_CLIENT_ID: env.OPERATOR_CLIENT_ID ?? stored.OPERATOR_CLIENT_ID ?? 'operator',
    OPERATOR_CLIENT_SECRET: env.OPERATOR_CLIENT_SECRET ?? stored.OPERATOR_CLIENT_SECRET ?? secret(),
    INTERNAL_CLIENT_SECRET: env.INTERNAL_CLIENT_SECRET ?? stored.INTERNAL_CLIENT_SECRET ?? secret(),
  };
  const generated = !stored.OPERATOR_CLIENT_SECRET && !env.OPERATOR_CLIENT_SECRET;
  if (path) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return { ...secrets, generated };
}
