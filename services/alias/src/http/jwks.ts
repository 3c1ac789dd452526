// The public side of the signing keys and the OAuth/OpenID metadata: GET /.well-known/jwks.json
// (RFC 7517), GET /.well-known/openid-configuration (OpenID Connect Discovery / RFC 8414), and the
// operator's key routes (/v1/admin/signing-keys).
import { Type } from 'typebox';
import { problems } from '@wallet/contracts';
import { SIGNING_ALGORITHM, type App } from '@wallet/kit';
import type { KeyInfo, KeyRing } from '../auth/keys.ts';

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

/**
 * Verifiers cache the set themselves; a token with an unknown kid makes them fetch it again. HTTP
 * caches in between may keep it this long: part of what SIGNING_KEY_PUBLISH_DELAY_SECONDS covers.
 */
const cacheMaxAgeSeconds = 30;

const Discovery = Type.Object({
  issuer: Type.String(),
  jwks_uri: Type.String(),
  token_endpoint: Type.String(),
  revocation_endpoint: Type.String(),
  introspection_endpoint: Type.String(),
  grant_types_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  subject_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
  introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
  id_token_signing_alg_values_supported: Type.Array(Type.String()),
  access_token_signing_alg_values_supported: Type.Array(Type.String()),
});

export interface DiscoveryOptions {
  issuer: string;
  /** The public base URL clients reach the endpoints at (the gateway). */
  baseUrl: string;
  scopes: readonly string[];
}

export function jwksRoutes(deps: { keys: KeyRing; discovery: DiscoveryOptions }) {
  const at = (path: string) => new URL(path, deps.discovery.baseUrl).toString();
  const discovery = {
    issuer: deps.discovery.issuer,
    jwks_uri: at('/.well-known/jwks.json'),
    token_endpoint: at('/v1/auth/token'),
    revocation_endpoint: at('/v1/auth/revoke'),
    introspection_endpoint: at('/v1/auth/introspect'),
    grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
    // No authorization endpoint: tokens come only from the token endpoint.
    response_types_supported: ['token'],
    scopes_supported: [...deps.discovery.scopes],
    subject_types_supported: ['public'],
    // `none`: people's logins and refresh tokens come from a public client.
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    // No ID tokens are issued; access tokens (RFC 9068) are signed with the same algorithm.
    id_token_signing_alg_values_supported: [SIGNING_ALGORITHM],
    access_token_signing_alg_values_supported: [SIGNING_ALGORITHM],
  };

  return async (app: App) => {
    app.get(
      '/.well-known/jwks.json',
      { schema: { summary: 'Public keys that verify access tokens', tags: ['auth'], response: { 200: Jwks } } },
      async (_request, reply) => {
        reply.header('cache-control', `public, max-age=${cacheMaxAgeSeconds}`);
        return { keys: await deps.keys.publicKeys() };
      },
    );

    app.get(
      '/.well-known/openid-configuration',
      {
        schema: {
          summary: 'Authorization server metadata (OpenID Connect Discovery, RFC 8414)',
          description: 'Endpoints are given at GATEWAY_URL; `issuer` is TOKEN_ISSUER, the `iss` of every access token.',
          tags: ['auth'],
          response: { 200: Discovery },
        },
      },
      async (_request, reply) => {
        reply.header('cache-control', `public, max-age=${cacheMaxAgeSeconds}`);
        return discovery;
      },
    );
  };
}

const SigningKey = Type.Object({
  kid: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('signing'), Type.Literal('retired')], {
    description: 'pending: published, signs from signsFrom; signing; retired: published until the tokens it signed have expired',
  }),
  createdAt: Type.String({ format: 'date-time' }),
  signsFrom: Type.String({ format: 'date-time' }),
  retiredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const toKeyBody = (key: KeyInfo) => ({
  kid: key.kid,
  status: key.status,
  createdAt: key.createdAt.toISOString(),
  signsFrom: key.signsFrom.toISOString(),
  retiredAt: key.retiredAt?.toISOString() ?? null,
});

/** Operator routes; register them where a wallet:operator token is required. */
export function signingKeyRoutes(deps: { keys: KeyRing; publishDelaySeconds: number }) {
  return async (app: App) => {
    app.get(
      '/v1/admin/signing-keys',
      {
        schema: {
          summary: 'The published signing keys and their status (operator)',
          tags: ['auth'],
          security: [{ bearer: [] }],
          response: { 200: Type.Object({ keys: Type.Array(SigningKey) }), ...problems(401, 403) },
        },
      },
      async () => ({ keys: (await deps.keys.list()).map(toKeyBody) }),
    );

    app.post(
      '/v1/admin/signing-keys/rotate',
      {
        schema: {
          summary: 'Rotate the signing key (operator)',
          description:
            'Publishes a new key at once; it signs from `signsFrom` (SIGNING_KEY_PUBLISH_DELAY_SECONDS later, so every verifier has fetched it ' +
            'first) and the current key retires then, staying published until its tokens have expired. 201 with the new key; 200 with the ' +
            'pending key when a rotation is already under way.',
          tags: ['auth'],
          security: [{ bearer: [] }],
          response: { 200: SigningKey, 201: SigningKey, ...problems(401, 403) },
        },
      },
      async (request, reply) => {
        const rotation = await deps.keys.rotate(deps.publishDelaySeconds);
        request.log.info({ kid: rotation.next.kid, signsFrom: rotation.next.signsFrom, created: rotation.created }, 'signing key rotation');
        return reply.code(rotation.created ? 201 : 200).send(toKeyBody(rotation.next));
      },
    );
  };
}
