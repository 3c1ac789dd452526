// Internal routes for other services (service tokens only): the ledger's entries and balances.
import { authenticate, ProblemError, requireScope, scopes, type App, type Db, type TokenVerifier } from '@wallet/kit';
import { Type } from 'typebox';
import { problems } from '@wallet/contracts';
import { entriesAfter, findAccount } from '../store/ledger-store.ts';
import type { TransactionConfig } from '../config.ts';

const Params = Type.Object({ id: Type.String({ format: 'uuid' }) });

export function internalRoutes(config: TransactionConfig, db: Db, verifier: TokenVerifier) {
  return async (app: App) => {
    app.addHook('onRequest', authenticate(verifier));
    app.addHook('onRequest', requireScope(scopes.internal));

    app.get(
      '/internal/accounts/:id/entries',
      {
        schema: {
          params: Params,
          querystring: Type.Object({
            afterSequence: Type.String({ pattern: '^[0-9]{1,19}$', default: '0' }),
            limit: Type.Integer({ minimum: 1, maximum: config.entriesPageSizeMax, default: 500 }),
          }),
          response: { 200: Type.Object({ entries: Type.Array(Type.Object({ accountId: Type.String(), currency: Type.String(), amount: Type.String(), balanceAfter: Type.String(), pendingAmount: Type.String(), pendingAfter: Type.String(), sequence: Type.String(), createdAt: Type.String(), transferId: Type.String() })) }), ...problems(401, 403, 404) },
        },
      },
      async (request) => {
        const rows = await entriesAfter(db, request.params.id, BigInt(request.query.afterSequence), request.query.limit);
        return {
          entries: rows.map((e) => ({
            accountId: e.account_id,
            currency: e.currency.trim(),
            amount: e.amount.toString(),
            balanceAfter: e.balance_after.toString(),
            pendingAmount: e.pending_amount.toString(),
            pendingAfter: e.pending_after.toString(),
            sequence: e.sequence.toString(),
            createdAt: e.created_at.toISOString(),
            transferId: e.transfer_id,
          })),
        };
      },
    );

    app.get(
      '/internal/accounts/:id/balance',
      { schema: { params: Params, response: { 200: Type.Object({ accountId: Type.String(), currency: Type.String(), balance: Type.String(), pending: Type.String(), sequence: Type.String() }), ...problems(401, 403, 404) } } },
      async (request) => {
        const account = await findAccount(db, request.params.id);
        if (!account) throw new ProblemError('account_not_found');
        return { accountId: account.id, currency: account.currency, balance: account.balance.toString(), pending: account.pending.toString(), sequence: account.sequence.toString() };
      },
    );
  };
}
