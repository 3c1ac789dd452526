// Public routes: transfers, deposits and withdrawals (operator), reversals, reading transfers.
import { authenticate, callerOf, isOperator, ProblemError, requireAnyScope, requireScope, scopes, type App, type TokenVerifier } from '@wallet/kit';
import { problems, type Transfer } from '@wallet/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TransactionConfig } from '../config.ts';
import type { Directory } from '../directory.ts';
import { getTransfer, listTransfers } from '../store/ledger-store.ts';
import type { Db } from '@wallet/kit';
import type { TransferCommand } from '../ledger/commands.ts';
import { transferJson } from '../ledger/json.ts';
import type { LedgerService, Outcome } from '../ledger/service.ts';

interface Deps {
  config: TransactionConfig;
  db: Db;
  verifier: TokenVerifier;
  ledger: LedgerService;
  directory: Directory;
}
import { amountOf, emptyBodyAsObject, fingerprint, idempotencyKey, requestOf, send } from './requests.ts';
import { BatchBody, BatchResult, IdParams, IdempotencyHeaders, ListQuery, MovementBody, ReversalBody, TransferBody, TransferList, TransferResponses } from './schemas.ts';

type TransferInput = {
  fromAccountId: string;
  to: { accountId?: string; alias?: string };
  amount: string;
  currency: string;
  description?: string;
  reference?: string;
  metadata?: Record<string, string>;
};

function transferCommand(request: FastifyRequest, body: TransferInput, key: string, fingerprint: string, max: bigint): TransferCommand {
  return {
    caller: callerOf(request),
    idempotencyKey: key,
    fingerprint,
    op: 'transfer',
    kind: 'transfer',
    from: { accountId: body.fromAccountId },
    to: body.to.alias !== undefined ? { alias: body.to.alias } : { accountId: body.to.accountId! },
    amount: amountOf(body.amount, max),
    currency: body.currency,
    description: body.description ?? null,
    reference: body.reference ?? null,
    metadata: body.metadata ?? {},
    requestId: request.id,
  };
}

export function transferRoutes({ config, db, verifier, ledger, directory }: Deps) {
  return async (app: App) => {
    app.addHook('onRequest', authenticate(verifier));
    // People and operators; a token without either scope acts for nobody here, whatever its subject.
    app.addHook('onRequest', requireAnyScope(scopes.user, scopes.operator));

    app.post(
      '/v1/transfers',
      { schema: { summary: 'Send money', tags: ['transfers'], security: [{ bearer: [] }], headers: IdempotencyHeaders, body: TransferBody, response: TransferResponses } },
      async (request, reply) => {
        const command = transferCommand(request, request.body, idempotencyKey(request), fingerprint('POST /v1/transfers', request.body), config.transferAmountMax);
        return send(reply, await ledger.execute(command));
      },
    );

    app.post(
      '/v1/transfers/batch',
      {
        bodyLimit: config.batchBodyLimitBytes,
        schema: {
          summary: 'Send up to 1,000 transfers in one request, applied in order',
          description: 'Each transfer gets its own result. With `atomic: true` they all succeed or none does (the others are refused with `linked_transfer_failed`). One Idempotency-Key covers the batch.',
          tags: ['transfers'],
          security: [{ bearer: [] }],
          headers: IdempotencyHeaders,
          body: BatchBody,
          response: { 200: BatchResult, ...problems(400, 401, 404, 409, 413, 422, 503) },
        },
      },
      async (request, reply) => {
        const key = idempotencyKey(request);
        const { transfers: items, atomic = false } = request.body;
        const batchPrint = fingerprint('POST /v1/transfers/batch', request.body);
        const commands = items.map((item, index) => {
          try {
            return transferCommand(request, item, key, batchPrint, config.transferAmountMax);
          } catch (error) {
            throw error instanceof ProblemError ? new ProblemError(error.code, `Transfer ${index}: ${error.message}`, { ...error.extra, index }) : error;
          }
        });
        const outcomes = await ledger.executeBatch({ caller: callerOf(request).subject, key, fingerprint: batchPrint }, commands, atomic);
        const failed = outcomes.find((o) => !o.ok);
        if (failed && !failed.ok) throw failed.error;
        const settled = outcomes.map((o) => (o as { value: Outcome }).value);
        if (settled.every((o) => o.replayed)) reply.header('idempotent-replayed', 'true');
        const results = settled.map((o, index) =>
          o.status === 201 ? { index, status: o.status, transfer: o.body as Transfer } : { index, status: o.status, error: o.body as { code: string; detail?: string } },
        );
        const completed = results.filter((r) => r.status === 201).length;
        return { atomic, completed, refused: results.length - completed, results };
      },
    );

    type MovementInput = { accountId: string; amount: string; currency: string; description?: string; reference?: string; metadata?: Record<string, string> };
    const movement = (kind: 'deposit' | 'withdrawal') => async (request: FastifyRequest<{ Body: MovementInput }>, reply: FastifyReply) => {
      const body = request.body;
      const account = { accountId: body.accountId };
      const command: TransferCommand = {
        ...requestOf(request, `POST /v1/${kind}s`, body),
        op: 'transfer',
        kind,
        from: kind === 'deposit' ? { settlement: true } : account,
        to: kind === 'deposit' ? account : { settlement: true },
        amount: amountOf(body.amount, config.transferAmountMax),
        currency: body.currency,
        description: body.description ?? null,
        reference: body.reference ?? null,
        metadata: body.metadata ?? {},
      };
      return send(reply, await ledger.execute(command));
    };
    const operatorOnly = requireScope(scopes.operator);
    const movementSchema = (summary: string) => ({ summary, tags: ['operator'], security: [{ bearer: [] }], headers: IdempotencyHeaders, body: MovementBody, response: TransferResponses });
    app.post('/v1/deposits', { onRequest: operatorOnly, schema: movementSchema('Deposit: move money from the settlement account into an account (operator)') }, movement('deposit'));
    app.post('/v1/withdrawals', { onRequest: operatorOnly, schema: movementSchema('Withdrawal: move money from an account to the settlement account (operator)') }, movement('withdrawal'));

    app.post(
      '/v1/transfers/:id/reversals',
      {
        preValidation: emptyBodyAsObject,
        schema: {
          summary: 'Reverse all or part of a transfer (its receiver or an operator)',
          description: 'Returns money from the receiver to the sender as a new transfer of kind `reversal`, linked by `reversalOf`. The total reversed never exceeds the original amount; without `amount`, what remains is reversed.',
          tags: ['transfers'],
          security: [{ bearer: [] }],
          params: IdParams,
          headers: IdempotencyHeaders,
          body: ReversalBody,
          response: TransferResponses,
        },
      },
      async (request, reply) => {
        const body = request.body;
        return send(
          reply,
          await ledger.execute({
            op: 'reversal',
            ...requestOf(request, `POST /v1/transfers/${request.params.id}/reversals`, body),
            transferId: request.params.id,
            amount: body.amount === undefined ? undefined : amountOf(body.amount, config.transferAmountMax),
            description: body.description ?? null,
            reference: body.reference ?? null,
            metadata: body.metadata ?? {},
          }),
        );
      },
    );

    app.get('/v1/transfers/:id', { schema: { summary: 'A transfer', tags: ['transfers'], security: [{ bearer: [] }], params: IdParams, response: TransferResponses } }, async (request) => {
      const caller = callerOf(request);
      const transfer = /^[0-9a-f-]{36}$/i.test(request.params.id) ? await getTransfer(db, request.params.id) : undefined;
      if (!transfer) throw new ProblemError('transfer_not_found');
      if (isOperator(caller)) return transferJson(transfer, true);
      const [from, to] = await Promise.all([directory.account(transfer.fromAccountId), directory.account(transfer.toAccountId)]);
      if (from.ownerId === caller.subject) return transferJson(transfer, true);
      if (to.ownerId === caller.subject) return transferJson(transfer, false);
      throw new ProblemError('transfer_not_found');
    });

    app.get(
      '/v1/transfers',
      { schema: { summary: "An account's transfers, newest first", tags: ['transfers'], security: [{ bearer: [] }], querystring: ListQuery, response: { 200: TransferList, ...problems(400, 401, 404) } } },
      async (request) => {
        const caller = callerOf(request);
        const { accountId, cursor, limit = 20, reference } = request.query;
        const account = await directory.account(accountId, request.id);
        if (account.ownerId !== caller.subject && !isOperator(caller)) throw new ProblemError('account_not_found');
        const page = await listTransfers(db, accountId, cursor === undefined ? null : BigInt(cursor), Math.min(limit, config.pageSizeMax), reference ?? null);
        const last = page.at(-1);
        return {
          items: page.map((p) => transferJson(p.transfer, p.transfer.fromAccountId === accountId)),
          nextCursor: page.length === limit && last ? last.entrySequence.toString() : null,
        };
      },
    );
  };
}
