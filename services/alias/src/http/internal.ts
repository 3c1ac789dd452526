// Routes for other services (wallet:internal tokens only); the gateway never routes /internal/*.
import { Type } from 'typebox';
import { CurrencyCode, problems, Uuid } from '@wallet/contracts';
import type { App, Db } from '@wallet/kit';
import { formatAlias } from '../domain/alias.ts';
import { resolveOrThrow } from '../directory/resolve.ts';
import { AliasParams, CurrencyQuery } from './aliases.ts';

const InternalAlias = Type.Object({
  alias: Type.String(),
  userId: Uuid,
  accountId: Uuid,
  currency: CurrencyCode,
});

export function internalRoutes(deps: { db: Db }) {
  return async (app: App) => {
    app.get(
      '/internal/aliases/:alias',
      {
        schema: {
          summary: 'The account that receives money at an alias (for the transaction service)',
          tags: ['internal'],
          security: [{ bearer: [] }],
          params: AliasParams,
          querystring: CurrencyQuery,
          response: { 200: InternalAlias, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => {
        const found = await resolveOrThrow(deps.db, request.params.alias, request.query.currency);
        return { alias: formatAlias(found.type, found.displayValue), userId: found.userId, accountId: found.accountId, currency: found.currency };
      },
    );
  };
}
