// GET /v1/accounts/{id}/balance — the owner's or an operator's view of one account's balance.
import { Type } from 'typebox';
import { authenticate, callerOf, isOperator, ProblemError, type App, type TokenVerifier } from '@wallet/kit';
import { Balance, problems } from '@wallet/contracts';
import { canRead, type BalanceView } from '../domain/balance.ts';
import { isUuid } from '../domain/entry.ts';
import type { BalanceReader } from '../store/balance-reader.ts';

export interface BalanceRoutesOptions {
  verifier: TokenVerifier;
  reader: BalanceReader;
}

const Params = Type.Object({ id: Type.String({ description: 'Account id (UUID); anything else is answered like an unknown account' }) });

export function toBalanceBody(view: BalanceView): Balance {
  return {
    accountId: view.accountId,
    currency: view.currency,
    available: view.available.toString(),
    pending: view.pending.toString(),
    sequence: view.sequence.toString(),
    updatedAt: view.updatedAt,
  };
}

export async function balanceRoutes(app: App, { verifier, reader }: BalanceRoutesOptions): Promise<void> {
  await app.register(async (scope: App) => {
    scope.addHook('onRequest', authenticate(verifier));

    scope.get(
      '/v1/accounts/:id/balance',
      {
        schema: {
          summary: 'The balance of one account',
          description: 'Owners read their own accounts, operators any account. Amounts are minor units as digit strings.',
          tags: ['balances'],
          security: [{ bearer: [] }],
          params: Params,
          response: { 200: Balance, ...problems(401, 404, 503) },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        const notFound = () => new ProblemError('account_not_found');
        // A malformed id names no account: the same answer as an unknown or foreign one.
        if (!isUuid(request.params.id)) throw notFound();
        const view = await reader.read(request.params.id.toLowerCase());
        if (!view || !canRead(view, { subject: caller.subject, operator: isOperator(caller) })) throw notFound();
        return toBalanceBody(view);
      },
    );
  });
}
