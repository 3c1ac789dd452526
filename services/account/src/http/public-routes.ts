// Public routes: people open and read their own accounts; operators read any, freeze them and set their limits.
import { Account, problems } from '@wallet/contracts';
import { authenticate, callerOf, hasScope, isOperator, ProblemError, requireScope, scopes, type App, type Caller, type TokenVerifier } from '@wallet/kit';
import type { Accounts } from '../accounts.ts';
import { toAccount } from '../domain/account.ts';
import { AccountIdParams, AccountList, ListAccountsQuery, OpenAccountBody, RenameAccountBody, SetLimitsBody } from './schemas.ts';

export interface RouteDeps {
  accounts: Accounts;
  verifier: TokenVerifier;
}

const security = [{ bearer: [] }];
const tags = ['accounts'];

const isPerson = (caller: Caller) => caller.kind === 'user' && hasScope(caller, scopes.user);

export function publicRoutes({ accounts, verifier }: RouteDeps) {
  return async (app: App) => {
    app.addHook('onRequest', authenticate(verifier));
    // Every route here is for people or operators; a service token has no business on them.
    app.addHook('onRequest', async (request) => {
      const caller = callerOf(request);
      if (!isPerson(caller) && !isOperator(caller)) throw new ProblemError('forbidden', `These routes need the ${scopes.user} or ${scopes.operator} scope`);
    });

    app.post(
      '/v1/accounts',
      {
        schema: {
          summary: 'Open an account in a currency',
          tags,
          security,
          body: OpenAccountBody,
          response: { 201: Account, ...problems(400, 401, 403, 422) },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        if (!isPerson(caller)) throw new ProblemError('forbidden', 'Only people open accounts, for themselves');
        const account = await accounts.open({ ownerId: caller.subject, currency: request.body.currency, name: request.body.name });
        return reply.code(201).send(toAccount(account));
      },
    );

    app.get(
      '/v1/accounts',
      {
        schema: {
          summary: "The caller's accounts (operators: anyone's, by ownerId)",
          tags,
          security,
          querystring: ListAccountsQuery,
          response: { 200: AccountList, ...problems(400, 401, 403) },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        const { ownerId } = request.query;
        if (isOperator(caller) && ownerId === undefined) throw new ProblemError('validation_failed', 'Operators list accounts by ?ownerId=');
        if (!isOperator(caller) && ownerId !== undefined && ownerId !== caller.subject) {
          throw new ProblemError('forbidden', "Only operators list another owner's accounts");
        }
        const items = await accounts.listByOwner(ownerId ?? caller.subject);
        return { items: items.map(toAccount) };
      },
    );

    app.get(
      '/v1/accounts/:id',
      {
        schema: { summary: 'One account', tags, security, params: AccountIdParams, response: { 200: Account, ...problems(401, 403, 404) } },
      },
      async (request) => {
        const caller = callerOf(request);
        return toAccount(await accounts.getVisible(request.params.id, { subject: caller.subject, operator: isOperator(caller) }));
      },
    );

    app.patch(
      '/v1/accounts/:id',
      {
        schema: {
          summary: 'Rename an account (its owner)',
          tags,
          security,
          params: AccountIdParams,
          body: RenameAccountBody,
          response: { 200: Account, ...problems(400, 401, 403, 404) },
        },
      },
      async (request) => {
        const caller = callerOf(request);
        if (!isPerson(caller)) throw new ProblemError('forbidden', 'Only the owner renames an account');
        return toAccount(await accounts.rename(request.params.id, caller.subject, request.body.name));
      },
    );

    await app.register(async (operator: App) => {
      operator.addHook('onRequest', requireScope(scopes.operator));
      for (const [action, target] of [
        ['freeze', 'frozen'],
        ['unfreeze', 'active'],
      ] as const) {
        operator.post(
          `/v1/accounts/:id/${action}`,
          {
            schema: {
              summary: action === 'freeze' ? 'Freeze an account (operators)' : 'Unfreeze an account (operators)',
              tags,
              security,
              params: AccountIdParams,
              response: { 200: Account, ...problems(401, 403, 404, 422) },
            },
          },
          async (request) => toAccount(await accounts.setStatus(request.params.id, target)),
        );
      }

      operator.put(
        '/v1/accounts/:id/limits',
        {
          schema: {
            summary: "Set an account's overdraft limit and/or limits tier (operators)",
            description:
              'Answers the account as it now stands and publishes `account.limits_changed` when something changed. ' +
              'Settlement accounts take a tier but no overdraft limit (422 `account_not_adjustable`).',
            tags,
            security,
            params: AccountIdParams,
            body: SetLimitsBody,
            response: { 200: Account, ...problems(400, 401, 403, 404, 422) },
          },
        },
        async (request) => toAccount(await accounts.setLimits(request.params.id, request.body)),
      );
    });
  };
}
