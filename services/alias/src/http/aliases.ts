// Routes for any authenticated caller: alias lookup (rationed per person), and the caller's own
// profile and aliases.
import { Type } from 'typebox';
import { CurrencyCode, problems, Uuid } from '@wallet/contracts';
import { callerOf, ProblemError, scopes, type App, type Caller, type Db } from '@wallet/kit';
import { formatAlias } from '../domain/alias.ts';
import { maskDisplayName } from '../domain/display-name.ts';
import type { AliasList, OwnAliases } from '../directory/own-aliases.ts';
import type { Lookup } from '../directory/lookup.ts';
import type { OwnAlias as OwnAliasRecord } from '../store/aliases.ts';

export const AliasParams = Type.Object({ alias: Type.String({ minLength: 1, maxLength: 254, examples: ['@ana.p', 'ana@example.com', '+5511987654321'] }) });
export const CurrencyQuery = Type.Object({ currency: Type.Optional(CurrencyCode) }, { additionalProperties: false });
const AliasType = Type.Union([Type.Literal('handle'), Type.Literal('email'), Type.Literal('phone'), Type.Literal('random')]);

const ResolvedAlias = Type.Object({
  alias: Type.String({ examples: ['@ana.p'] }),
  type: AliasType,
  displayName: Type.String({ description: 'Masked: first word and initial of the last ("Ana P."), or "Ma***" for one word' }),
  accountId: Uuid,
  currency: CurrencyCode,
});

const OwnAlias = Type.Object({
  id: Type.String({ format: 'uuid', description: 'Names the alias in /v1/me/aliases/{id}…' }),
  alias: Type.String({ description: 'As payers type it: handles with "@", e-mail as entered, phone in E.164, random keys as generated', examples: ['@Ana.P'] }),
  type: AliasType,
  status: Type.Union([Type.Literal('active'), Type.Literal('pending')], { description: 'pending: waiting for the code sent to the e-mail address or phone number' }),
  verified: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  verifiedAt: Type.Optional(Type.String({ format: 'date-time' })),
  expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'Pending only: the claim ends unless verified by then' })),
  accounts: Type.Array(
    Type.Object({
      currency: CurrencyCode,
      accountId: Uuid,
      status: Type.Union([Type.Literal('active'), Type.Literal('frozen'), Type.Literal('closed')], { description: 'Only active accounts receive' }),
    }),
    { description: 'The receiving account per currency' },
  ),
});

const AliasList = Type.Object({
  aliases: Type.Array(OwnAlias),
  max: Type.Integer({ description: 'ALIASES_PER_USER_MAX: verified aliases and pending claims count' }),
  handleChangesRemaining: Type.Integer(),
  reservedHandles: Type.Array(Type.Object({ handle: Type.String(), reservedUntil: Type.String({ format: 'date-time' }) }), {
    description: 'Handles the caller left, nobody else may take them until then; the caller may switch back',
  }),
});

const AddAliasBody = Type.Object(
  {
    type: AliasType,
    value: Type.Optional(
      Type.String({ minLength: 1, maxLength: 254, description: 'The handle, e-mail address or phone number (with "+" and country code); none for random keys', examples: ['ana@example.com'] }),
    ),
  },
  { additionalProperties: false },
);
const VerifyBody = Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$', description: 'The 6 digits sent to the alias', examples: ['042917'] }) }, { additionalProperties: false });
const LinkBody = Type.Object({ accountId: Uuid }, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const LinkParams = Type.Object({ id: Type.String({ format: 'uuid' }), currency: CurrencyCode });
const security = [{ bearer: [] }];

/** People only: client tokens have no profile. */
function userOf(caller: Caller): string {
  if (caller.kind !== 'user' || !caller.scopes.has(scopes.user)) throw new ProblemError('forbidden', 'This route is for people (a wallet:user token)');
  return caller.subject;
}

function toOwnAlias(a: OwnAliasRecord) {
  return {
    id: a.id,
    alias: formatAlias(a.type, a.displayValue),
    type: a.type,
    status: a.verifiedAt !== null ? ('active' as const) : ('pending' as const),
    verified: a.verifiedAt !== null,
    createdAt: a.createdAt.toISOString(),
    ...(a.verifiedAt ? { verifiedAt: a.verifiedAt.toISOString() } : {}),
    ...(a.verifiedAt === null && a.expiresAt ? { expiresAt: a.expiresAt.toISOString() } : {}),
    accounts: a.accounts,
  };
}

function toAliasList(list: AliasList) {
  return {
    aliases: list.aliases.map(toOwnAlias),
    max: list.max,
    handleChangesRemaining: list.handleChangesRemaining,
    reservedHandles: list.reservedHandles.map((r) => ({ handle: formatAlias('handle', r.handle), reservedUntil: r.reservedUntil.toISOString() })),
  };
}

export function aliasRoutes(deps: { db: Db; lookup: Lookup; own: OwnAliases }) {
  return async (app: App) => {
    // 429s say when to come back.
    app.addHook('onError', async (_request, reply, error) => {
      const retryAfter = error instanceof ProblemError ? error.extra.retryAfterSeconds : undefined;
      if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    });

    app.get(
      '/v1/aliases/:alias',
      {
        schema: {
          summary: 'Who receives money at an alias',
          description:
            'Handle (with or without "@"), e-mail address, phone number ("+" and country code) or random key. The masked name and the receiving account ' +
            '(in `currency`, or the first linked). People are rationed by a token bucket: a lookup needs ALIAS_LOOKUP_COST_MISSING tokens (20) and ' +
            'costs ALIAS_LOOKUP_COST_FOUND (1) when it finds a receiver; 429 with Retry-After when the bucket is empty. Unknown, pending and ' +
            'unpayable aliases answer the same 404.',
          tags: ['aliases'],
          security,
          params: AliasParams,
          querystring: CurrencyQuery,
          response: { 200: ResolvedAlias, ...problems(400, 401, 404, 429) },
        },
      },
      async (request) => {
        const found = await deps.lookup(callerOf(request), request.params.alias, request.query.currency);
        return {
          alias: formatAlias(found.type, found.displayValue),
          type: found.type,
          displayName: maskDisplayName(found.displayName),
          accountId: found.accountId,
          currency: found.currency,
        };
      },
    );

    app.get(
      '/v1/me/aliases',
      {
        schema: {
          summary: "The caller's aliases, pending claims and the accounts they receive into",
          tags: ['aliases'],
          security,
          response: { 200: AliasList, ...problems(401, 403) },
        },
      },
      async (request) => toAliasList(await deps.own.list(userOf(callerOf(request)))),
    );

    app.post(
      '/v1/me/aliases',
      {
        schema: {
          summary: 'Add an alias (or change the handle)',
          description:
            '`random`: a new random key (UUID v4), active at once — send no value. `email` / `phone`: pending until the 6-digit code sent there ' +
            'is entered (POST …/{id}/verify) within 10 minutes; 201 either way, whoever holds the value. `handle`: every person has one, so this ' +
            'changes it (200; at most HANDLE_CHANGES_MAX times; the old one stays reserved to the caller). New aliases receive in each currency ' +
            "into the caller's oldest active account.",
          tags: ['aliases'],
          security,
          body: AddAliasBody,
          response: { 200: OwnAlias, 201: OwnAlias, ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 503) },
        },
      },
      async (request, reply) => {
        const { alias, created } = await deps.own.add(userOf(callerOf(request)), request.body.type, request.body.value);
        return reply.code(created ? 201 : 200).send(toOwnAlias(alias));
      },
    );

    app.post(
      '/v1/me/aliases/:id/verify',
      {
        schema: {
          summary: 'Verify an e-mail or phone alias with the code sent to it',
          description: '5 wrong codes and the code is dead (ask for another); the first person to verify a value wins it.',
          tags: ['aliases'],
          security,
          params: IdParams,
          body: VerifyBody,
          response: { 200: OwnAlias, ...problems(400, 401, 403, 404, 409, 415, 422) },
        },
      },
      async (request) => toOwnAlias(await deps.own.verify(userOf(callerOf(request)), request.params.id, request.body.code)),
    );

    app.post(
      '/v1/me/aliases/:id/resend',
      {
        schema: {
          summary: 'Send a new code to a pending alias',
          description: 'The previous code dies. At most one code per 60 s and 5 per hour to one address (429 with Retry-After).',
          tags: ['aliases'],
          security,
          params: IdParams,
          response: { 200: OwnAlias, ...problems(400, 401, 403, 404, 409, 422, 429, 503) },
        },
      },
      async (request) => toOwnAlias(await deps.own.resend(userOf(callerOf(request)), request.params.id)),
    );

    app.put(
      '/v1/me/aliases/:id/accounts/:currency',
      {
        schema: {
          summary: 'Choose the account that receives money sent to the alias in a currency',
          description: "One of the caller's active accounts in that currency.",
          tags: ['aliases'],
          security,
          params: LinkParams,
          body: LinkBody,
          response: { 200: OwnAlias, ...problems(400, 401, 403, 404, 409, 415, 422) },
        },
      },
      async (request) => toOwnAlias(await deps.own.link(userOf(callerOf(request)), request.params.id, request.params.currency, request.body.accountId)),
    );

    app.delete(
      '/v1/me/aliases/:id/accounts/:currency',
      {
        schema: {
          summary: 'Stop receiving through the alias in a currency',
          description: 'New accounts in that currency do not link it again by themselves.',
          tags: ['aliases'],
          security,
          params: LinkParams,
          response: { 200: OwnAlias, ...problems(400, 401, 403, 404, 409) },
        },
      },
      async (request) => toOwnAlias(await deps.own.unlink(userOf(callerOf(request)), request.params.id, request.params.currency)),
    );

    app.delete(
      '/v1/me/aliases/:id',
      {
        schema: {
          summary: 'Delete an alias (not the handle); its value is free at once',
          tags: ['aliases'],
          security,
          params: IdParams,
          response: { 204: Type.Null({ description: 'Deleted' }), ...problems(400, 401, 403, 404, 422) },
        },
      },
      async (request, reply) => {
        await deps.own.remove(userOf(callerOf(request)), request.params.id);
        return reply.code(204).send(null);
      },
    );
  };
}
