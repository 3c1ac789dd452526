// GET /.well-known/jwks.json: the public keys that verify access tokens (RFC 7517).
import { Type } from 'typebox';
import type { App } from '@wallet/kit';
import type { KeyRing } from '../auth/keys.ts';

const PublicJwk = Type.Object({
  kty: Type.String(),
  crv: Type.String(),
  x: Type.String(),
  y: Type.String(),
  kid: Type.String(),
  alg: Type.String(),
  use: Type.String(),
});

const Jwks = Type.Object({ keys: Type.Array(PublicJwk) });

/** Verifiers cache the set; a token with an unknown kid makes them fetch it again. */
const cacheMaxAgeSeconds = 300;

export function jwksRoutes(deps: { keys: KeyRing }) {
  return async (app: App) => {
    app.get(
      '/.well-known/jwks.json',
      { schema: { summary: 'Public keys that verify access tokens', tags: ['auth'], response: { 200: Jwks } } },
      async (_request, reply) => {
        reply.header('cache-control', `public, max-age=${cacheMaxAgeSeconds}`);
        return { keys: await deps.keys.publicKeys() };
      },
    );
  };
}
