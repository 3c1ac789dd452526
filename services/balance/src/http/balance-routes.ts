// GET /v1/accounts/{id}/balance — the owner's or an operator's view of one account's balance.
import { Type } from 'typebox';
import { authenticate, callerOf, isOperator, ProblemError, type App, type TokenVerifier } from '@wallet/kit';
import { Balance, problems } from '@wallet/contracts';
import { availableOf, canRead, type BalanceView } from '../domain/balance.ts';
import { isUuid } from '../domain/entry.ts';
import type { BalanceReader } from '../store/balance-reader.ts';
import { AtParameter, BalanceMaybeAt, type BalanceHistory } from './history-routes.ts';

export interface BalanceRoutesOptions {
  verifier: TokenVerifier;
  reader: BalanceReader;
  /** The balance at a past moment (`?at=`), from the persisted entries: history-routes.ts. */
  history: BalanceHistory;
}

const Params = Type.Object({ id: Type.String({ description: 'Account id (UUID); anything else is answered like an unknown account' }) });

export function toBalanceBody(view: BalanceView & { currency: string }): Balance {
  return {
    accountId: view.accountId,
    currency: view.currency,
    posted: view.posted.toString(),
    pending: view.pending.toString(),
    available: availableOf(view).toString(),
    overdraftLimit: view.overdraftLimit.toString(),
    sequence: view.sequence.toString(),
    updatedAt: view.updatedAt,
  };
}

/** A row only a limits change has written (no entry, no opening) is no balance yet. */
const hasCurrency = (view: BalanceView): view is BalanceView & { currency: string } => view.currency !== null;

export async function balanceRoutes(app: App, { verifier, reader, history }: BalanceRoutesOptions): Promise<void> {
  await app.register(async (scope: App) => {
    scope.addHook('onRequest', authenticate(verifier));

    scope.get(
      '/v1/accounts/:id/balance',
      {
        schema: {
          summary: 'The balance of one account',
          description:
            'Owners read their own accounts, operators any account. Amounts are minor units as digit strings. ' +
            'posted: settled money; pending: reserved by holds; available = posted − pending + overdraftLimit ' +
            '(settlement accounts, whose limit is unbounded: posted − pending).',
          tags: ['balances'],
          security: [{ bearer: [] }],
          params: Params,
          querystring: Type.Object({ at: Type.Optional(AtParameter) }),
          response: { 200: BalanceMaybeAt, ...problems(400, 401, 404, 503) },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        if (request.query.at !== undefined) return history.at(request.params.id, request.query.at, caller);
        const notFound = () => new ProblemError('account_not_found');
        // A malformed id names no account: the same answer as an unknown or foreign one.
        if (!isUuid(request.params.id)) throw notFound();
        const view = await reader.read(request.params.id.toLowerCase());
        if (!view || !hasCurrency(view) || !canRead(view, { subject: caller.subject, operator: isOperator(caller) })) throw notFound();
        return toBalanceBody(view);
      },
    );
  });
}
