// Balances in the past, from the entries this service persisted:
// - GET /v1/accounts/{id}/balance?at=<ISO time>: the balance at that moment. The balance route
//   (balance-routes.ts) hands a request with `at` to `BalanceHistory.at` first thing;
// - GET /v1/accounts/{id}/balance/history?from=&to=&interval=day: opening and closing posted
//   balances per UTC day.
// Both agree with the ledger's statement (GET /v1/accounts/{id}/statement): same entries, same
// times, same rule for "the balance at the end of a period" (domain/history.ts).
import { Type } from 'typebox';
import { authenticate, callerOf, isOperator, ProblemError, requireAnyScope, scopes, type App, type Caller, type Db, type TokenVerifier } from '@wallet/kit';
import { Balance, CurrencyCode, problems, SignedAmountString, Uuid } from '@wallet/contracts';
import { availableOf, canRead, type BalanceView } from '../domain/balance.ts';
import { isUuid } from '../domain/entry.ts';
import { dailyBalances, historyPeriod, HISTORY_DAYS_MAX, utcDays } from '../domain/history.ts';
import { findBalance } from '../store/balances.ts';
import { accountAt, periodEntries } from '../store/history.ts';

/** The `at` query parameter of GET /v1/accounts/{id}/balance. */
export const AtParameter = Type.String({
  format: 'date-time',
  description:
    'A past moment (ISO 8601): the balance after the last entry written at or before it, as this service has applied it ' +
    '(available with the overdraft limit known now); `sequence` is that entry\'s, 0 before the first.',
});

/** GET /v1/accounts/{id}/balance's answer: the balance, and `at` when one was asked for. */
export const BalanceMaybeAt = Type.Object({
  ...Balance.properties,
  at: Type.Optional(Type.String({ format: 'date-time', description: 'The moment asked for with ?at=; updatedAt is then the time of that entry (`at` before the first)' })),
});

type BalanceAtBody = Balance & { at: string };

export interface BalanceHistory {
  /** The balance of an account the caller may read, at a moment; 404 otherwise. */
  at(rawAccountId: string, at: string, caller: Caller): Promise<BalanceAtBody>;
}

const notFound = () => new ProblemError('account_not_found');

/** The account's balance row, if the caller may read it; a malformed id, an unknown or foreign account are all 404. */
export async function visibleBalance(db: Db, rawAccountId: string, caller: Caller): Promise<BalanceView & { currency: string; ownerId: string | null }> {
  if (!isUuid(rawAccountId)) throw notFound();
  const view = await findBalance(db, rawAccountId.toLowerCase());
  if (!view || view.currency === null || !canRead(view, { subject: caller.subject, operator: isOperator(caller) })) throw notFound();
  return { ...view, currency: view.currency };
}

export function createBalanceHistory(db: Db): BalanceHistory {
  return {
    async at(rawAccountId, atText, caller) {
      if (!isUuid(rawAccountId)) throw notFound();
      const accountId = rawAccountId.toLowerCase();
      const at = new Date(atText);
      if (Number.isNaN(at.getTime())) throw new ProblemError('validation_failed', '`at` is not an ISO 8601 date-time');
      const account = await accountAt(db, accountId, at);
      if (!account || account.currency === null || !canRead(account, { subject: caller.subject, operator: isOperator(caller) })) throw notFound();
      const posted = account.entry?.balanceAfter ?? 0n;
      // Entries applied before holds existed record no reservation: there was none.
      const pending = account.entry?.pendingAfter ?? 0n;
      return {
        accountId,
        currency: account.currency,
        posted: posted.toString(),
        pending: pending.toString(),
        available: availableOf({ posted, pending, overdraftLimit: account.overdraftLimit }).toString(),
        overdraftLimit: account.overdraftLimit.toString(),
        sequence: (account.entry?.sequence ?? 0n).toString(),
        updatedAt: account.entry?.createdAt ?? at.toISOString(),
        at: at.toISOString(),
      };
    },
  };
}

const Params = Type.Object({ id: Type.String({ description: 'Account id (UUID); anything else is answered like an unknown account' }) });

const DateOrTime = (description: string) => Type.Union([Type.String({ format: 'date-time' }), Type.String({ format: 'date' })], { description });

const HistoryQuery = Type.Object({
  from: Type.Optional(DateOrTime('Start (inclusive), a date (UTC midnight) or a date-time; default 30 days before `to`')),
  to: Type.Optional(DateOrTime('End (exclusive); default the end of the current UTC day')),
  interval: Type.Optional(Type.Literal('day', { description: 'One row per UTC day (the only interval)', default: 'day' })),
});

const HistoryDay = Type.Object({
  date: Type.String({ format: 'date', description: 'The UTC day' }),
  from: Type.String({ format: 'date-time', description: "The day's start, or the period's if it starts later" }),
  to: Type.String({ format: 'date-time', description: "The next day's start, or the period's end if sooner" }),
  openingBalance: SignedAmountString,
  closingBalance: SignedAmountString,
  entries: Type.Integer({ minimum: 0, description: "The day's entries that moved posted money (as the statement lists them; a hold's reservation moves none)" }),
});

const BalanceHistoryBody = Type.Object({
  accountId: Uuid,
  currency: CurrencyCode,
  interval: Type.Literal('day'),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  openingBalance: SignedAmountString,
  closingBalance: SignedAmountString,
  days: Type.Array(HistoryDay),
});

export interface HistoryRoutesOptions {
  verifier: TokenVerifier;
  db: Db;
  /** The clock (tests). */
  now?: () => Date;
}

export async function historyRoutes(app: App, { verifier, db, now = () => new Date() }: HistoryRoutesOptions): Promise<void> {
  await app.register(async (scope: App) => {
    scope.addHook('onRequest', authenticate(verifier));
    scope.addHook('onRequest', requireAnyScope(scopes.user, scopes.operator));

    scope.get(
      '/v1/accounts/:id/balance/history',
      {
        schema: {
          summary: 'Opening and closing posted balances of an account, per UTC day',
          description:
            `One row per UTC day that [from, to) touches (at most ${HISTORY_DAYS_MAX}; the first and last clipped to the period), ` +
            'from the entries this service has applied. A day closes on the balance after the highest-sequence entry written ' +
            "before its end and opens on the previous day's close, as the ledger's statement counts them. Owners and operators.",
          tags: ['balances'],
          security: [{ bearer: [] }],
          params: Params,
          querystring: HistoryQuery,
          response: { 200: BalanceHistoryBody, ...problems(400, 401, 404) },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        const period = historyPeriod(request.query, now());
        if (!period.ok) throw new ProblemError('validation_failed', period.reason);
        const account = await visibleBalance(db, request.params.id, caller);
        const stored = await periodEntries(db, account.accountId, period.period);
        const days = dailyBalances(utcDays(period.period), stored.before, stored.days);
        return {
          accountId: account.accountId,
          currency: account.currency,
          interval: 'day' as const,
          from: period.period.from.toISOString(),
          to: period.period.to.toISOString(),
          openingBalance: (days[0]?.openingBalance ?? 0n).toString(),
          closingBalance: (days.at(-1)?.closingBalance ?? 0n).toString(),
          days: days.map((day) => ({
            date: day.date,
            from: day.from.toISOString(),
            to: day.to.toISOString(),
            openingBalance: day.openingBalance.toString(),
            closingBalance: day.closingBalance.toString(),
            entries: day.entries,
          })),
        };
      },
    );
  });
}
