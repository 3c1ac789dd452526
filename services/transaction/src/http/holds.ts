// Holds (two-phase transfers): reserve, then post (capture all or part) or void; read and list.
import { authenticate, callerOf, isOperator, ProblemError, requireAnyScope, scopes, type App, type Db, type TokenVerifier } from '@wallet/kit';
import { problems } from '@wallet/contracts';
import type { TransactionConfig } from '../config.ts';
import type { Directory } from '../directory.ts';
import { holdJson } from '../ledger/json.ts';
import type { LedgerService } from '../ledger/service.ts';
import { getHold, listHolds } from '../store/hold-store.ts';
import { amountOf, emptyBodyAsObject, requestOf, send } from './requests.ts';
import { EmptyBody, HoldBody, HoldList, HoldListQuery, HoldResponses, IdParams, IdempotencyHeaders, PostBody } from './schemas.ts';

interface Deps {
  config: TransactionConfig;
  db: Db;
  verifier: TokenVerifier;
  ledger: LedgerService;
  directory: Directory;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Cursor: the last item's creation time and id, opaque to clients. */
const encodeCursor = (at: Date, id: string) => Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
function decodeCursor(cursor: string): { at: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  const time = Date.parse(at ?? '');
  if (Number.isNaN(time) || !id || !uuidPattern.test(id)) throw new ProblemError('validation_failed', 'cursor is not one this API returned');
  return { at: new Date(time), id };
}

export function holdRoutes({ config, db, verifier, ledger, directory }: Deps) {
  return async (app: App) => {
    app.addHook('onRequest', authenticate(verifier));
    app.addHook('onRequest', requireAnyScope(scopes.user, scopes.operator));
    const tags = ['holds'];
    const security = [{ bearer: [] }];

    app.post(
      '/v1/holds',
      {
        schema: {
          summary: 'Reserve money for a payee: available goes down, pending up',
          description: 'The hold is later posted (all or part captured), voided by the payee or an operator, or expires after `timeoutSeconds`.',
          tags,
          security,
          headers: IdempotencyHeaders,
          body: HoldBody,
          response: HoldResponses,
        },
      },
      async (request, reply) => {
        const body = request.body;
        return send(
          reply,
          await ledger.execute({
            op: 'hold',
            ...requestOf(request, 'POST /v1/holds', body),
            from: { accountId: body.fromAccountId },
            to: body.to.alias !== undefined ? { alias: body.to.alias } : { accountId: body.to.accountId! },
            amount: amountOf(body.amount, config.transferAmountMax),
            currency: body.currency,
            timeoutSeconds: body.timeoutSeconds ?? config.holdTimeoutDefaultSeconds,
            description: body.description ?? null,
            reference: body.reference ?? null,
            metadata: body.metadata ?? {},
          }),
        );
      },
    );

    app.post(
      '/v1/holds/:id/post',
      {
        preValidation: emptyBodyAsObject,
        schema: {
          summary: 'Capture all or part of a hold (payer, payee or operator); the rest is released',
          tags,
          security,
          params: IdParams,
          headers: IdempotencyHeaders,
          body: PostBody,
          response: HoldResponses,
        },
      },
      async (request, reply) => {
        const body = request.body;
        return send(
          reply,
          await ledger.execute({
            op: 'post',
            ...requestOf(request, `POST /v1/holds/${request.params.id}/post`, body),
            holdId: request.params.id,
            amount: body.amount === undefined ? undefined : amountOf(body.amount, config.transferAmountMax),
          }),
        );
      },
    );

    app.post(
      '/v1/holds/:id/void',
      { preValidation: emptyBodyAsObject, schema: { summary: 'Release a hold (payee or operator)', tags, security, params: IdParams, headers: IdempotencyHeaders, body: EmptyBody, response: HoldResponses } },
      async (request, reply) =>
        send(
          reply,
          await ledger.execute({ op: 'void', ...requestOf(request, `POST /v1/holds/${request.params.id}/void`, request.body), holdId: request.params.id }),
        ),
    );

    app.get('/v1/holds/:id', { schema: { summary: 'A hold', tags, security, params: IdParams, response: HoldResponses } }, async (request) => {
      const caller = callerOf(request);
      const hold = uuidPattern.test(request.params.id) ? await getHold(db, request.params.id.toLowerCase()) : undefined;
      if (!hold) throw new ProblemError('hold_not_found');
      if (isOperator(caller)) return holdJson(hold);
      const [from, to] = await Promise.all([directory.account(hold.fromAccountId), directory.account(hold.toAccountId)]);
      if (from.ownerId !== caller.subject && to.ownerId !== caller.subject) throw new ProblemError('hold_not_found');
      return holdJson(hold);
    });

    app.get(
      '/v1/holds',
      { schema: { summary: "An account's holds (paid or received), newest first", tags, security, querystring: HoldListQuery, response: { 200: HoldList, ...problems(400, 401, 404) } } },
      async (request) => {
        const caller = callerOf(request);
        const { accountId, status, reference, cursor, limit = 20 } = request.query;
        const account = await directory.account(accountId, request.id);
        if (account.ownerId !== caller.subject && !isOperator(caller)) throw new ProblemError('account_not_found');
        const page = await listHolds(db, { accountId: accountId.toLowerCase(), status: status ?? null, reference: reference ?? null, before: cursor ? decodeCursor(cursor) : null, limit });
        const last = page.at(-1);
        return { items: page.map(holdJson), nextCursor: page.length === limit && last ? encodeCursor(last.createdAt, last.id) : null };
      },
    );
  };
}
