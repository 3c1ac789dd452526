// POST /v1/auth/token: the OAuth2 token endpoint (RFC 6749), form-encoded or JSON.
import { Type } from 'typebox';
import { problems } from '@wallet/contracts';
import { ProblemError, type App } from '@wallet/kit';
import type { Grants } from '../auth/grants.ts';

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
  },
  { additionalProperties: false },
);

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

export function tokenRoutes(deps: { grants: Grants }) {
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
          tags: ['auth'],
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          body: TokenBody,
          response: { 200: TokenResponse, ...problems(400, 401, 413, 415) },
        },
      },
      async (request) => {
        const body = request.body;
        switch (body.grant_type) {
          case 'password':
            return deps.grants.password(required(body.username, 'username'), required(body.password, 'password'), body.scope);
          case 'refresh_token':
            return deps.grants.refreshToken(required(body.refresh_token, 'refresh_token'), body.scope);
          case 'client_credentials': {
            const basic = basicCredentials(request.headers.authorization);
            if (basic && (body.client_id !== undefined || body.client_secret !== undefined)) {
              throw new ProblemError('validation_failed', 'Send the client credentials either in the Authorization header or in the body, not both');
            }
            const id = basic?.id ?? body.client_id;
            const secret = basic?.secret ?? body.client_secret;
            if (id === undefined || secret === undefined) throw new ProblemError('invalid_client', 'Client authentication is required');
            return deps.grants.clientCredentials(id, secret, body.scope);
          }
          default:
            throw new ProblemError('unsupported_grant_type', `The grant type "${body.grant_type.slice(0, 50)}" is not supported`);
        }
      },
    );
  };
}
