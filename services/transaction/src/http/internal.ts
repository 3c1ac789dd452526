// Internal routes for other services (service tokens only): the ledger's entries and balances.
import { authenticate, ProblemError, requireScope, scopes, type App, type Db, type TokenVerifier } from '@wallet/kit';
import { Type } from 'typebox';
import { problems } from '@wallet/contracts';
import { balancesAtSequences, countAccounts, entriesAfter, findAccount, listAccountBalances } from '../store/ledger-store.ts';
import type { TransactionConfig } from '../config.ts';

const Params = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Digits = Type.String({ pattern: '^[0-9]{1,19}$' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
/** Positions one `POST /internal/balances/at` may ask for. */
export const BALANCES_AT_MAX = 1000;
/** Accounts per page of `GET /internal/balances`. */
export const BALANCES_PAGE_MAX = 1000;

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

    // For the balance service's drift checks and rebuilds: every account with its current balance, in
    // id order (so accounts the projection never saw are found too), `total` on the first page.
    app.get(
      '/internal/balances',
      {
        schema: {
          querystring: Type.Object({
            afterId: Type.Optional(Type.String({ format: 'uuid' })),
            limit: Type.Integer({ minimum: 1, maximum: BALANCES_PAGE_MAX, default: 500 }),
          }),
          response: {
            200: Type.Object({
              accounts: Type.Array(
                Type.Object({
                  accountId: Type.String(),
                  ownerId: Type.String(),
                  currency: Type.String(),
                  type: Type.String(),
                  overdraftLimit: Nullable(Type.String()),
                  limitsChangedAt: Nullable(Type.String()),
                  balance: Type.String(),
                  pending: Type.String(),
                  sequence: Type.String(),
                }),
              ),
              total: Type.Optional(Type.Integer()),
            }),
            ...problems(400, 401, 403),
          },
        },
      },
      async (request) => {
        const afterId = request.query.afterId?.toLowerCase() ?? null;
        const rows = await listAccountBalances(db, afterId, request.query.limit);
        return {
          accounts: rows.map((a) => ({
            accountId: a.id,
            ownerId: a.owner_id,
            currency: a.currency.trim(),
            type: a.type,
            overdraftLimit: a.overdraft_limit?.toString() ?? null,
            limitsChangedAt: a.limits_changed_at?.toISOString() ?? null,
            balance: a.balance.toString(),
            pending: a.pending.toString(),
            sequence: a.sequence.toString(),
          })),
          ...(afterId === null ? { total: await countAccounts(db) } : {}),
        };
      },
    );

    // Each account's balance and reservation right after its entry at the given sequence (0 → 0 and
    // 0), and its current sequence: a projection at sequence N is compared with the ledger at N.
    // `known` false: the ledger has no such account; balance null: the sequence is past its current one.
    app.post(
      '/internal/balances/at',
      {
        bodyLimit: 256 * 1024,
        schema: {
          body: Type.Object({
            positions: Type.Array(Type.Object({ accountId: Type.String({ format: 'uuid' }), sequence: Digits }), { minItems: 1, maxItems: BALANCES_AT_MAX }),
          }),
          response: {
            200: Type.Object({
              balances: Type.Array(
                Type.Object({
                  accountId: Type.String(),
                  sequence: Type.String(),
                  known: Type.Boolean(),
                  currency: Nullable(Type.String()),
                  balance: Nullable(Type.String()),
                  pending: Nullable(Type.String()),
                  ledgerSequence: Nullable(Type.String()),
                }),
              ),
            }),
            ...problems(400, 401, 403),
          },
        },
      },
      async (request) => {
        const positions = request.body.positions.map((p) => ({ accountId: p.accountId.toLowerCase(), sequence: BigInt(p.sequence) }));
        const rows = await balancesAtSequences(db, positions);
        return {
          balances: rows.map((r) => ({
            accountId: r.account_id,
            sequence: r.sequence.toString(),
            known: r.current_sequence !== null,
            currency: r.currency?.trim() ?? null,
            balance: r.balance_after?.toString() ?? null,
            pending: r.pending_after?.toString() ?? null,
            ledgerSequence: r.current_sequence?.toString() ?? null,
          })),
        };
      },
    );
  };
}
