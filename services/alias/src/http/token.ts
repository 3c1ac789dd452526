// The OAuth2 endpoints, form-encoded or JSON: POST /v1/auth/token (RFC 6749), /v1/auth/revoke
// (RFC 7009) and /v1/auth/introspect (RFC 7662).
import { Type } from 'typebox';
import { problems } from '@wallet/contracts';
import { bearerToken, ProblemError, scopes, type App, type TokenVerifier } from '@wallet/kit';
import type { FastifyRequest } from 'fastify';
import type { Grants } from '../auth/grants.ts';
import type { Sessions } from '../auth/sessions.ts';
import type { ClientRegistry } from '../domain/clients.ts';

const formBodyLimitBytes = 8 * 1024;
const secret = { minLength: 1, maxLength: 1024 };

const TokenBody = Type.Object(
  {
    grant_type: Type.String({ minLength: 1, maxLength: 100, examples: ['password', 'refresh_token', 'client_credentials'] }),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 320, description: 'An alias, e.g. a handle with or without "@"' })),
    password: Type.Optional(Type.String(secret)),
    refresh_token: Type.Optional(Type.String(secret)),
    client_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    client_secret: Type.Optional(Type.String(secret)),
    scope: Type.Optional(Type.String({ maxLength: 500 })),
    totp: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Password grant, accounts with a second factor: the current 6-digit code, or a recovery code' }),
    ),
    recovery_code: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Password grant: a one-time recovery code instead of "totp"' })),
  },
  { additionalProperties: false },
);

const TokenTypeHint = Type.String({ maxLength: 100, examples: ['refresh_token', 'access_token'], description: 'Where to look first; the other type is searched too' });

const RevokeBody = Type.Object(
  {
    token: Type.String(secret),
    token_type_hint: Type.Optional(TokenTypeHint),
    client_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    client_secret: Type.Optional(Type.String(secret)),
  },
  { additionalProperties: false },
);

const IntrospectBody = RevokeBody;

const IntrospectionResponse = Type.Object({
  active: Type.Boolean(),
  sub: Type.Optional(Type.String({ description: 'User id, or the client id of a client token' })),
  scope: Type.Optional(Type.String()),
  client_id: Type.Optional(Type.String({ description: 'Client tokens only' })),
  token_type: Type.Optional(Type.Union([Type.Literal('Bearer'), Type.Literal('refresh_token')])),
  exp: Type.Optional(Type.Integer({ description: 'Seconds since the epoch; for a refresh token, the end of its session' })),
  iat: Type.Optional(Type.Integer()),
  iss: Type.Optional(Type.String()),
  aud: Type.Optional(Type.String()),
  jti: Type.Optional(Type.String()),
  sid: Type.Optional(Type.String({ description: "People's tokens: the session (login) they belong to" })),
});

const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'Seconds' }),
  refresh_token: Type.Optional(Type.String()),
  scope: Type.String(),
});

/** OAuth2 clients read `error`; everyone else reads `code`. */
const oauthErrorOf: Record<string, string> = {
  invalid_grant: 'invalid_grant',
  invalid_client: 'invalid_client',
  invalid_scope: 'invalid_scope',
  unsupported_grant_type: 'unsupported_grant_type',
  mfa_required: 'mfa_required',
  login_throttled: 'login_throttled',
  forbidden: 'insufficient_scope',
  unauthorized: 'invalid_token',
};

function parseForm(body: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(body)) {
    // RFC 6749 §3.2: parameters must not be repeated.
    if (Object.hasOwn(fields, name)) throw Object.assign(new Error(`The parameter "${name}" appears more than once`), { statusCode: 400 });
    fields[name] = value;
  }
  return fields;
}

/** Client credentials from an `Authorization: Basic` header (RFC 6749 §2.3.1: form-encoded, then base64). */
function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = header ? /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header) : null;
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new ProblemError('invalid_client', 'The Basic credentials are malformed');
  try {
    const unescape = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
    return { id: unescape(decoded.slice(0, colon)), secret: unescape(decoded.slice(colon + 1)) };
  } catch {
    throw new ProblemError('invalid_client', 'The Basic credentials are malformed');
  }
}

const required = (value: string | undefined, field: string): string => {
  if (value === undefined) {
    throw new ProblemError('validation_failed', `"${field}" is required for this grant type`, { errors: [{ field: `body/${field}`, message: 'is required' }] });
  }
  return value;
};

/** Client credentials from HTTP Basic or the body (never both); undefined when neither was sent. */
function clientCredentialsOf(request: FastifyRequest, body: { client_id?: string; client_secret?: string }): { id: string; secret: string } | undefined {
  const basic = basicCredentials(request.headers.authorization);
  if (basic && (body.client_id !== undefined || body.client_secret !== undefined)) {
    throw new ProblemError('validation_failed', 'Send the client credentials either in the Authorization header or in the body, not both');
  }
  if (basic) return basic;
  if (body.client_id === undefined && body.client_secret === undefined) return undefined;
  if (body.client_id === undefined || body.client_secret === undefined) throw new ProblemError('invalid_client', 'Client authentication is required');
  return { id: body.client_id, secret: body.client_secret };
}

export interface TokenRouteDeps {
  grants: Grants;
  sessions: Sessions;
  clients: ClientRegistry;
  /** Checks bearer tokens sent to introspection by services that authenticate with a token. */
  verifier: TokenVerifier;
}

/** Scopes allowed to introspect tokens: the services and the operator. */
const introspectionScopes: readonly string[] = [scopes.internal, scopes.operator];

export function tokenRoutes(deps: TokenRouteDeps) {
  return async (app: App) => {
    // Form bodies are accepted here only, and kept small.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: formBodyLimitBytes }, (_request, body, done) => {
      try {
        done(null, parseForm(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    });

    app.addHook('onSend', async (request, reply, payload) => {
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
      try {
        const body = JSON.parse(payload) as Record<string, unknown>;
        if (typeof body.code !== 'string') return payload;
        body.error = oauthErrorOf[body.code] ?? (reply.statusCode >= 500 ? 'server_error' : 'invalid_request');
        if (typeof body.detail === 'string') body.error_description = body.detail;
        if (body.code === 'invalid_client' && request.headers.authorization) reply.header('www-authenticate', 'Basic realm="wallet"');
        if (typeof body.retryAfterSeconds === 'number') reply.header('retry-after', String(body.retryAfterSeconds));
        return JSON.stringify(body);
      } catch {
        return payload;
      }
    });

    app.post(
      '/v1/auth/token',
      {
        schema: {
          summary: 'Get an access token (OAuth2: password, refresh_token, client_credentials)',
          description:
            'Password grant: after repeated failures for a username (known or not) or from an address, 429 `login_throttled` with Retry-After; ' +
            'accounts with a second factor also need `totp` (else 400 `mfa_required`).',
          tags: ['auth'],
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          body: TokenBody,
          response: { 200: TokenResponse, ...problems(400, 401, 413, 415, 429) },
        },
      },
      async (request) => {
        const body = request.body;
        switch (body.grant_type) {
          case 'password': {
            if (body.totp !== undefined && body.recovery_code !== undefined) throw new ProblemError('validation_failed', 'Send either "totp" or "recovery_code", not both');
            const secondFactor = body.totp ?? body.recovery_code;
            return deps.grants.password({
              username: required(body.username, 'username'),
              password: required(body.password, 'password'),
              ...(body.scope !== undefined ? { scope: body.scope } : {}),
              ...(secondFactor !== undefined ? { secondFactor } : {}),
              clientIp: request.ip,
            });
          }
          case 'refresh_token':
            return deps.grants.refreshToken(required(body.refresh_token, 'refresh_token'), body.scope);
          case 'client_credentials': {
            const client = clientCredentialsOf(request, body);
            if (!client) throw new ProblemError('invalid_client', 'Client authentication is required');
            return deps.grants.clientCredentials(client.id, client.secret, body.scope);
          }
          default:
            throw new ProblemError('unsupported_grant_type', `The grant type "${body.grant_type.slice(0, 50)}" is not supported`);
        }
      },
    );

    app.post(
      '/v1/auth/revoke',
      {
        schema: {
          summary: 'Revoke a refresh token (ending its session) or an access token (RFC 7009)',
          description:
            'Needs no authentication: holding the token is enough. Always 200 for a token that is unknown, expired or already revoked. ' +
            'A refresh token ends its whole session (every token of that login, including its access tokens at introspection). ' +
            'An access token is refused by introspection and by the alias service until it expires; other services verify tokens ' +
            'locally and accept it until then (at most 15 minutes). Client credentials, if sent, must be right.',
          tags: ['auth'],
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          body: RevokeBody,
          response: { 200: Type.Object({}, { description: 'Revoked, or nothing to revoke: an empty object' }), ...problems(400, 401, 413, 415) },
        },
      },
      async (request) => {
        const client = clientCredentialsOf(request, request.body);
        if (client && !deps.clients.authenticate(client.id, client.secret)) throw new ProblemError('invalid_client', 'The client id or secret is wrong');
        await deps.sessions.revoke(request.body.token, request.body.token_type_hint);
        return {};
      },
    );

    app.post(
      '/v1/auth/introspect',
      {
        schema: {
          summary: 'Is a token active, and what does it grant? (RFC 7662; services and the operator)',
          description:
            'Authenticate as a client (HTTP Basic or client_id/client_secret) with the wallet:internal or wallet:operator scope, or with such a ' +
            "client's bearer token. Access tokens are active while signed by a published key, unexpired, not revoked and (people's) in a live " +
            'session; refresh tokens while unspent and their session is live. Anything else is {"active": false}.',
          tags: ['auth'],
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          body: IntrospectBody,
          response: { 200: IntrospectionResponse, ...problems(400, 401, 403, 413, 415) },
        },
      },
      async (request) => {
        const client = clientCredentialsOf(request, request.body);
        let callerScopes: ReadonlySet<string>;
        if (client) {
          const authenticated = deps.clients.authenticate(client.id, client.secret);
          if (!authenticated) throw new ProblemError('invalid_client', 'The client id or secret is wrong');
          callerScopes = new Set(authenticated.scope.split(' '));
        } else {
          const token = bearerToken(request);
          if (!token) throw new ProblemError('invalid_client', 'Authenticate as a client (HTTP Basic or client_id and client_secret) or with a bearer token');
          callerScopes = (await deps.verifier.verify(token)).scopes;
        }
        if (!introspectionScopes.some((scope) => callerScopes.has(scope))) {
          throw new ProblemError('forbidden', `Introspection needs the ${introspectionScopes.join(' or ')} scope`);
        }
        return deps.sessions.introspect(request.body.token, request.body.token_type_hint);
      },
    );
  };
}
