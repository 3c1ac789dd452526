// Routes for other services (scope wallet:internal); the gateway never routes /internal/*.
import { Account, problems } from '@wallet/contracts';
import { authenticate, requireScope, scopes, type App } from '@wallet/kit';
import { toAccount } from '../domain/account.ts';
import { AccountIdParams, CurrencyParams } from './schemas.ts';
import type { RouteDeps } from './public-routes.ts';

const security = [{ bearer: [] }];
const tags = ['internal'];

export function internalRoutes({ accounts, verifier }: RouteDeps) {
  return async (app: App) => {
    app.addHook('onRequest', authenticate(verifier));
    app.addHook('onRequest', requireScope(scopes.internal));

    app.get(
      '/internal/accounts/:id',
      {
        schema: { summary: 'Any account, for other services', tags, security, params: AccountIdParams, response: { 200: Account, ...problems(401, 403, 404) } },
      },
      async (request) => toAccount(await accounts.get(request.params.id)),
    );

    // Get or create: answers 200 with the currency's one settlement account either way.
    app.put(
      '/internal/settlement-accounts/:currency',
      {
        schema: {
          summary: "The currency's settlement account, created on first use",
          tags,
          security,
          params: CurrencyParams,
          response: { 200: Account, ...problems(400, 401, 403, 422) },
        },
      },
      async (request) => toAccount((await accounts.settlement(request.params.currency)).account),
    );
  };
}
