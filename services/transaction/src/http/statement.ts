// GET /v1/accounts/{id}/statement: entries of a period with the balance after each, as JSON or CSV.
import { authenticate, callerOf, isOperator, ProblemError, requireAnyScope, scopes, type App, type Db, type TokenVerifier } from '@wallet/kit';
import { Type } from 'typebox';
import { CurrencyCode, SignedAmountString, Uuid, problems } from '@wallet/contracts';
import type { Directory } from '../directory.ts';
import { balanceBefore, statementLines, type StatementLine } from '../store/statement-store.ts';

const dayMs = 86_400_000;
const periodDaysMax = 366;

const Query = Type.Object({
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Start of the period (inclusive); default 30 days before `to`' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'End of the period (exclusive); default now' })),
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,19}$' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, default: 100 })),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' })),
});

const Line = Type.Object({
  sequence: Type.String(),
  transferId: Uuid,
  kind: Type.String(),
  amount: SignedAmountString,
  balanceAfter: SignedAmountString,
  counterpartyAccountId: Uuid,
  description: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

const Statement = Type.Object({
  accountId: Uuid,
  currency: CurrencyCode,
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  openingBalance: SignedAmountString,
  closingBalance: SignedAmountString,
  entries: Type.Array(Line),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

const csvColumns = ['sequence', 'created_at', 'transfer_id', 'kind', 'amount', 'balance_after', 'counterparty_account_id', 'description'];

/** Quotes a CSV field; a leading = + - @ is neutralised so spreadsheets do not run it as a formula. */
function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function csvLine(l: StatementLine): string {
  return [l.sequence.toString(), l.createdAt.toISOString(), l.transferId, l.kind, l.amount.toString(), l.balanceAfter.toString(), l.counterpartyAccountId, csvField(l.description ?? '')].join(',');
}

export function statementRoutes(db: Db, verifier: TokenVerifier, directory: Directory) {
  return async (app: App) => {
    app.addHook('onRequest', authenticate(verifier));
    app.addHook('onRequest', requireAnyScope(scopes.user, scopes.operator));
    app.get(
      '/v1/accounts/:id/statement',
      {
        schema: {
          summary: "An account's entries over a period, with the balance after each (JSON or CSV)",
          tags: ['accounts'],
          security: [{ bearer: [] }],
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          querystring: Query,
          response: { 200: Statement, ...problems(400, 401, 404) },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        const account = await directory.account(request.params.id, request.id);
        if (account.ownerId !== caller.subject && !isOperator(caller)) throw new ProblemError('account_not_found');
        const { cursor, limit = 100, format = 'json' } = request.query;
        const to = request.query.to ? new Date(request.query.to) : new Date();
        const from = request.query.from ? new Date(request.query.from) : new Date(to.getTime() - 30 * dayMs);
        if (!(from < to)) throw new ProblemError('validation_failed', '`from` must be before `to`');
        if (to.getTime() - from.getTime() > periodDaysMax * dayMs) throw new ProblemError('validation_failed', `A statement covers at most ${periodDaysMax} days`);
        const [opening, closing, lines] = await Promise.all([
          balanceBefore(db, account.id, from),
          balanceBefore(db, account.id, to),
          statementLines(db, account.id, from, to, cursor === undefined ? 0n : BigInt(cursor), limit),
        ]);
        const nextCursor = lines.length === limit ? lines.at(-1)!.sequence.toString() : null;
        if (format === 'csv') {
          reply.header('content-disposition', `attachment; filename="statement-${account.id}.csv"`);
          reply.header('x-opening-balance', opening.toString()).header('x-closing-balance', closing.toString());
          if (nextCursor) reply.header('x-next-cursor', nextCursor);
          const csv = [csvColumns.join(','), ...lines.map(csvLine)].join('\r\n') + '\r\n';
          return reply.type('text/csv; charset=utf-8').send(csv as never);
        }
        return {
          accountId: account.id,
          currency: account.currency,
          from: from.toISOString(),
          to: to.toISOString(),
          openingBalance: opening.toString(),
          closingBalance: closing.toString(),
          entries: lines.map((l) => ({
            sequence: l.sequence.toString(),
            transferId: l.transferId,
            kind: l.kind,
            amount: l.amount.toString(),
            balanceAfter: l.balanceAfter.toString(),
            counterpartyAccountId: l.counterpartyAccountId,
            description: l.description,
            createdAt: l.createdAt.toISOString(),
          })),
          nextCursor,
        };
      },
    );
  };
}
