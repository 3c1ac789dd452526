// The caller's own profile, password, second factor and sessions: /v1/me…, people only.
import { Type } from 'typebox';
import { problems, Uuid } from '@wallet/contracts';
import { callerOf, ProblemError, scopes, type App, type Caller, type Db } from '@wallet/kit';
import type { FastifyRequest } from 'fastify';
import type { AccountSecurity } from '../auth/account.ts';
import type { Mfa } from '../auth/mfa.ts';
import { sessionOf, type Sessions } from '../auth/sessions.ts';
import { normalizeDisplayName } from '../domain/display-name.ts';
import { PASSWORD_LENGTH_MAX, PASSWORD_LENGTH_MIN } from '../domain/password.ts';
import { findUser, updateDisplayName } from '../store/users.ts';
import { toUserBody, User } from './users.ts';

/** People only: client tokens have no profile. */
function userOf(caller: Caller): string {
  if (caller.kind !== 'user' || !caller.scopes.has(scopes.user)) throw new ProblemError('forbidden', 'This route is for people (a wallet:user token)');
  return caller.subject;
}

const secret = { minLength: 1, maxLength: PASSWORD_LENGTH_MAX };
const code = Type.String({ minLength: 1, maxLength: 64, description: 'The 6-digit code of the authenticator app, or a recovery code', examples: ['123456'] });

const ProfileBody = Type.Object(
  { displayName: Type.String({ minLength: 1, maxLength: 200, examples: ['Ana Pereira'] }) },
  { additionalProperties: false, minProperties: 1 },
);

const PasswordBody = Type.Object(
  {
    currentPassword: Type.String(secret),
    newPassword: Type.String({ minLength: PASSWORD_LENGTH_MIN, maxLength: PASSWORD_LENGTH_MAX }),
  },
  { additionalProperties: false },
);

const TokenPair = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
  scope: Type.String(),
});

const TotpStatus = Type.Object({
  enabled: Type.Boolean(),
  pending: Type.Boolean({ description: 'An enrolment waits for its first code' }),
  recoveryCodesLeft: Type.Integer(),
});

const Session = Type.Object({
  id: Uuid,
  current: Type.Boolean({ description: 'The session of the token making this request' }),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Last refresh' }),
  expiresAt: Type.String({ format: 'date-time' }),
});

const bearer = [{ bearer: [] }];

export interface MeDeps {
  db: Db;
  account: AccountSecurity;
  mfa: Mfa;
  sessions: Sessions;
}

export function meRoutes(deps: MeDeps) {
  const who = (request: FastifyRequest, password: string) => ({ userId: userOf(callerOf(request)), password, clientIp: request.ip });

  return async (app: App) => {
    app.get(
      '/v1/me',
      { schema: { summary: 'The caller', tags: ['users'], security: bearer, response: { 200: User, ...problems(401, 403, 404) } } },
      async (request) => {
        const user = await findUser(deps.db, userOf(callerOf(request)));
        if (!user) throw new ProblemError('user_not_found');
        return toUserBody(user);
      },
    );

    app.patch(
      '/v1/me',
      {
        schema: {
          summary: "Change the caller's display name",
          description: 'Validated as at sign-up: 1–80 characters after trimming and folding spaces, no control characters.',
          tags: ['users'],
          security: bearer,
          body: ProfileBody,
          response: { 200: User, ...problems(400, 401, 403, 404, 413, 415) },
        },
      },
      async (request) => {
        const userId = userOf(callerOf(request));
        const displayName = normalizeDisplayName(request.body.displayName);
        if (!displayName.ok) {
          throw new ProblemError('validation_failed', displayName.reason, { errors: [{ field: 'body/displayName', message: displayName.reason }] });
        }
        const user = await updateDisplayName(deps.db, userId, displayName.displayName);
        if (!user) throw new ProblemError('user_not_found');
        return toUserBody(user);
      },
    );

    app.post(
      '/v1/me/password',
      {
        schema: {
          summary: 'Change the password',
          description:
            'Needs the current password (counted like a login: 403 `password_incorrect`, 429 `login_throttled`). Every session ends — ' +
            'on every device, this one included — and the answer is a fresh token pair for this one.',
          tags: ['users'],
          security: bearer,
          body: PasswordBody,
          response: { 200: TokenPair, ...problems(400, 401, 403, 413, 415, 429) },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        reply.header('cache-control', 'no-store');
        const scope = [...caller.scopes].join(' ');
        const tokens = await deps.account.changePassword(who(request, request.body.currentPassword), request.body.newPassword, scope);
        request.log.info({ userId: caller.subject }, 'password changed; every session ended');
        return tokens;
      },
    );

    app.get(
      '/v1/me/totp',
      { schema: { summary: 'Whether the second factor is on', tags: ['users'], security: bearer, response: { 200: TotpStatus, ...problems(401, 403) } } },
      async (request) => deps.mfa.status(userOf(callerOf(request))),
    );

    app.post(
      '/v1/me/totp',
      {
        schema: {
          summary: 'Start TOTP enrolment: a new secret and its otpauth:// URI',
          description:
            'Needs the password. Show the URI as a QR code to the authenticator app, then confirm with its first code. ' +
            'Starting again replaces a pending enrolment; 409 `totp_already_enabled` once it is on.',
          tags: ['users'],
          security: bearer,
          body: Type.Object({ password: Type.String(secret) }, { additionalProperties: false }),
          response: {
            201: Type.Object({ secret: Type.String({ description: 'Base32, for typing in by hand' }), otpauthUri: Type.String() }),
            ...problems(400, 401, 403, 409, 413, 415, 429),
          },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        const userId = userOf(caller);
        const user = await findUser(deps.db, userId);
        if (!user) throw new ProblemError('user_not_found');
        const enrolment = await deps.account.reauthenticate(who(request, request.body.password), () => deps.mfa.enrol(userId, `@${user.handle}`));
        reply.header('cache-control', 'no-store');
        return reply.code(201).send(enrolment);
      },
    );

    app.post(
      '/v1/me/totp/confirm',
      {
        schema: {
          summary: 'Turn the second factor on with the first code; returns 10 one-time recovery codes',
          description: 'The recovery codes are shown this once (only their hashes are kept); each logs in once instead of a code.',
          tags: ['users'],
          security: bearer,
          body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 64, examples: ['123456'] }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ recoveryCodes: Type.Array(Type.String()) }), ...problems(400, 401, 403, 409, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        const userId = userOf(callerOf(request));
        const recoveryCodes = await deps.mfa.confirm(userId, request.body.code);
        request.log.info({ userId }, 'second factor on');
        reply.header('cache-control', 'no-store');
        return { recoveryCodes };
      },
    );

    app.post(
      '/v1/me/totp/disable',
      {
        schema: {
          summary: 'Turn the second factor off',
          description: 'Needs the password and a current code (or a recovery code). The recovery codes go with it.',
          tags: ['users'],
          security: bearer,
          body: Type.Object({ password: Type.String(secret), code }, { additionalProperties: false }),
          response: { 204: Type.Null(), ...problems(400, 401, 403, 409, 413, 415, 422, 429) },
        },
      },
      async (request, reply) => {
        const userId = userOf(callerOf(request));
        await deps.account.reauthenticate(who(request, request.body.password), () => deps.mfa.disable(userId, request.body.code));
        request.log.info({ userId }, 'second factor off');
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/me/sessions',
      {
        schema: {
          summary: "The caller's live sessions (one per login), newest first",
          tags: ['users'],
          security: bearer,
          response: { 200: Type.Object({ sessions: Type.Array(Session) }), ...problems(401, 403) },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        const current = sessionOf(caller);
        const sessions = await deps.sessions.list(userOf(caller));
        return {
          sessions: sessions.map((s) => ({
            id: s.id,
            current: s.id === current,
            createdAt: s.createdAt.toISOString(),
            lastUsedAt: s.lastUsedAt?.toISOString() ?? null,
            expiresAt: s.expiresAt.toISOString(),
          })),
        };
      },
    );

    app.post(
      '/v1/me/sessions/revoke',
      {
        schema: {
          summary: 'Log out everywhere: end every session of the caller',
          description:
            'Every refresh token of the caller stops working, and their access tokens are refused by introspection and by this service; ' +
            'other services accept an access token until it expires (at most 15 minutes). This session ends too.',
          tags: ['users'],
          security: bearer,
          response: { 200: Type.Object({ revoked: Type.Integer({ description: 'Sessions ended' }) }), ...problems(401, 403) },
        },
      },
      async (request) => {
        const userId = userOf(callerOf(request));
        const revoked = await deps.sessions.revokeAll(userId, 'logout everywhere');
        request.log.info({ userId, revoked }, 'logged out everywhere');
        return { revoked };
      },
    );
  };
}
