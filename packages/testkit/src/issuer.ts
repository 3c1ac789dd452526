// A stand-in token issuer for testing one service alone: serves a JWKS and signs tokens the way
// the alias service does. End-to-end tests use the real alias service instead.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { ACCESS_TOKEN_TYPE, SIGNING_ALGORITHM, scopes } from '@wallet/kit';

export const TEST_INTERNAL_SECRET = 'test-internal-secret-0123456789';
export const TEST_ISSUER = 'wallet';
export const TEST_AUDIENCE = 'wallet-api';

export interface TestIssuer {
  url: string;
  userToken(userId: string, options?: { expiresInSeconds?: number; scope?: string }): Promise<string>;
  operatorToken(): Promise<string>;
  serviceToken(service: string): Promise<string>;
  /** Env entries that point a service at this issuer. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const kid = randomUUID();
  const { privateKey, publicKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: SIGNING_ALGORITHM, use: 'sig' };

  const sign = (sub: string, scope: string, clientId?: string, expiresInSeconds = 300) =>
    new SignJWT({ scope, ...(clientId ? { client_id: clientId } : {}) })
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: ACCESS_TOKEN_TYPE })
      .setSubject(sub)
      .setIssuer(TEST_ISSUER)
      .setAudience(TEST_AUDIENCE)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSeconds)
      .sign(privateKey);

  const server: Server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    if (req.method === 'POST' && req.url === '/v1/auth/token') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', async () => {
        const form = new URLSearchParams(body);
        const clientId = form.get('client_id') ?? '';
        if (form.get('grant_type') !== 'client_credentials' || !clientId.startsWith('svc-') || form.get('client_secret') !== TEST_INTERNAL_SECRET) {
          res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_client' }));
          return;
        }
        const token = await sign(clientId, scopes.internal, clientId);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 300 }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    userToken: (userId, options) => sign(userId, options?.scope ?? scopes.user, undefined, options?.expiresInSeconds),
    operatorToken: () => sign('operator-test', scopes.operator, 'operator-test'),
    serviceToken: (service) => sign(`svc-${service}`, scopes.internal, `svc-${service}`),
    env: { ALIAS_URL: url, INTERNAL_CLIENT_SECRET: TEST_INTERNAL_SECRET, TOKEN_ISSUER: TEST_ISSUER, TOKEN_AUDIENCE: TEST_AUDIENCE },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
