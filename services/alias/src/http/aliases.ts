// Routes for any authenticated caller: alias lookup, and the caller's own profile and aliases.
import { Type } from 'typebox';
import { CurrencyCode, problems, Uuid } from '@wallet/contracts';
import { callerOf, ProblemError, scopes, type App, type Caller, type Db } from '@wallet/kit';
import { formatAlias } from '../domain/alias.ts';
import { maskDisplayName } from '../domain/display-name.ts';
import { resolveOrThrow } from '../directory/resolve.ts';
import { listAliasesOfUser } from '../store/aliases.ts';

export const AliasParams = Type.Object({ alias: Type.String({ minLength: 1, maxLength: 254, examples: ['@ana.p'] }) });
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
  alias: Type.String(),
  type: AliasType,
  verified: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  accounts: Type.Array(Type.Object({ currency: CurrencyCode, accountId: Uuid })),
});

/** People only: client tokens have no profile. */
function userOf(caller: Caller): string {
  if (caller.kind !== 'user' || !caller.scopes.has(scopes.user)) throw new ProblemError('forbidden', 'This route is for people (a wallet:user token)');
  return caller.subject;
}

export function aliasRoutes(deps: { db: Db }) {
  return async (app: App) => {
    app.get(
      '/v1/aliases/:alias',
      {
        schema: {
          summary: 'Who receives money at an alias',
          tags: ['aliases'],
          security: [{ bearer: [] }],
          params: AliasParams,
          querystring: CurrencyQuery,
          response: { 200: ResolvedAlias, ...problems(400, 401, 404) },
        },
      },
      async (request) => {
        const found = await resolveOrThrow(deps.db, request.params.alias, request.query.currency);
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
          summary: "The caller's aliases and the accounts they receive into",
          tags: ['aliases'],
          security: [{ bearer: [] }],
          response: { 200: Type.Object({ aliases: Type.Array(OwnAlias) }), ...problems(401, 403) },
        },
      },
      async (request) => {
        const aliases = await listAliasesOfUser(deps.db, userOf(callerOf(request)));
        return {
          aliases: aliases.map((a) => ({
            alias: formatAlias(a.type, a.displayValue),
            type: a.type,
            verified: a.verifiedAt !== null,
            createdAt: a.createdAt.toISOString(),
            accounts: a.accounts,
          })),
        };
      },
    );
  };
}
