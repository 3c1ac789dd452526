// GET /v1/accounts/{id}/balance — the owner's or an operator's view of one account's balance; with
// ?minSequence=N it answers only with a balance at sequence N or later (read-your-writes): it waits
// for the projection, and past BALANCE_MIN_SEQUENCE_WAIT_MS asks the ledger. And the balance stream.
import { Type } from 'typebox';
import { Counter, type Registry } from 'prom-client';
import { authenticate, callerOf, ProblemError, requireAnyScope, scopes, type App, type Caller, type ServiceClient, type TokenVerifier } from '@wallet/kit';
import { Balance, problems } from '@wallet/contracts';
import type { BalanceView } from '../domain/balance.ts';
import { isUuid } from '../domain/entry.ts';
import type { ChangeHub } from '../events/changes.ts';
import type { BalanceReader } from '../store/balance-reader.ts';
import { AtParameter, BalanceMaybeAt, type BalanceHistory } from './history-routes.ts';
import { balanceBody, registerBalanceStream, visibleTo } from './stream.ts';

/** One account as the ledger holds it now (`GET /internal/accounts/{id}/balance` on the transaction service). */
export interface LedgerBalance {
  posted: bigint;
  pending: bigint;
  sequence: bigint;
}

export interface LedgerBalances {
  /** Undefined when the ledger has no such account. */
  balanceOf(accountId: string, requestId?: string): Promise<LedgerBalance | undefined>;
}

const signedDigits = /^-?[0-9]{1,19}$/;
const digits = /^[0-9]{1,19}$/;

export function createLedgerBalances(client: ServiceClient): LedgerBalances {
  return {
    async balanceOf(accountId, requestId) {
      const path = `/internal/accounts/${encodeURIComponent(accountId)}/balance`;
      const response = await client.get<unknown>(path, requestId);
      if (response.status === 404) return undefined;
      const body = response.body as { balance?: unknown; pending?: unknown; sequence?: unknown } | undefined;
      if (
        response.status !== 200 ||
        typeof body?.balance !== 'string' ||
        typeof body.pending !== 'string' ||
        typeof body.sequence !== 'string' ||
        !signedDigits.test(body.balance) ||
        !signedDigits.test(body.pending) ||
        !digits.test(body.sequence)
      ) {
        throw new ProblemError('dependency_unavailable', `The transaction service answered ${response.status} with an unexpected balance`);
      }
      return { posted: BigInt(body.balance), pending: BigInt(body.pending), sequence: BigInt(body.sequence) };
    },
  };
}

export interface BalanceRoutesOptions {
  verifier: TokenVerifier;
  reader: BalanceReader;
  /** The balance at a past moment (`?at=`), from the persisted entries: history-routes.ts. */
  history: BalanceHistory;
  /** Wakes reads waiting for a sequence, and the streams. */
  changes: ChangeHub;
  /** Answers a read whose sequence the projection has not reached in time. */
  ledger: LedgerBalances;
  /** How long a read with minSequence waits for the projection before it asks the ledger. */
  minSequenceWaitMs: number;
  streamHeartbeatMs: number;
  streamsMax: number;
  metrics?: Registry;
}

/** The view as the API shows it; only for a row with a currency (see `visibleTo`). */
export const toBalanceBody = (view: BalanceView & { currency: string }): Balance => balanceBody(view);

const Params = Type.Object({ id: Type.String({ description: 'Account id (UUID); anything else is answered like an unknown account' }) });
const Query = Type.Object({
  at: Type.Optional(AtParameter),
  minSequence: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,19}$',
      description:
        'Answer with a balance at this sequence or later (e.g. the `sequence` of your transfer): waits for the read model, ' +
        'then asks the ledger (`Balance-Source: ledger`); 409 sequence_not_reached if not even the ledger has reached it',
    }),
  ),
});
type Waiting = { view: BalanceView | undefined; reached: boolean };

export async function balanceRoutes(app: App, options: BalanceRoutesOptions): Promise<void> {
  const { verifier, reader, history, changes, ledger, minSequenceWaitMs, metrics } = options;
  const sources = new Counter({
    name: 'balance_min_sequence_reads_total',
    help: 'Reads with minSequence, by who answered: the projection (at once or after waiting) or the ledger',
    labelNames: ['source'],
    registers: metrics ? [metrics] : [],
  });

  /**
   * Reads until the caller sees the account at `minSequence` or later, or the time is up. Woken by the
   * change hub (never polling); each wake that may have reached it reads PostgreSQL, not the cache
   * (which is written after the hub is told). A caller who may not see the account waits as long as
   * for an unknown one, so the answer's timing says nothing either.
   */
  const waitFor = async (accountId: string, minSequence: bigint, caller: Caller, signal: AbortSignal): Promise<Waiting> => {
    const reached = (view: BalanceView | undefined) => visibleTo(view, caller) && view.sequence >= minSequence;
    let view = await reader.read(accountId);
    if (reached(view)) return { view, reached: true };
    const deadline = Date.now() + minSequenceWaitMs;
    let woken = false;
    let wakeUp: (() => void) | undefined;
    const following = changes.follow(accountId, (change) => {
      if (change && change.sequence < minSequence && visibleTo(view, caller)) return;
      woken = true;
      wakeUp?.();
    });
    const onAbort = () => wakeUp?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await following.ready;
      view = await reader.readStored(accountId);
      while (!reached(view) && !signal.aborted) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) break;
        if (!woken) {
          let timer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            wakeUp = resolve;
            timer = setTimeout(resolve, remaining);
            if (signal.aborted) resolve();
          });
          clearTimeout(timer);
          wakeUp = undefined;
        }
        if (!woken || signal.aborted) break;
        woken = false;
        view = await reader.readStored(accountId);
      }
      return { view, reached: reached(view) };
    } finally {
      signal.removeEventListener('abort', onAbort);
      following.stop();
    }
  };

  await app.register(async (scope: App) => {
    scope.addHook('onRequest', authenticate(verifier));
    // People and operators; a token without either scope reads nobody's balance, whatever its subject.
    scope.addHook('onRequest', requireAnyScope(scopes.user, scopes.operator));

    scope.get(
      '/v1/accounts/:id/balance',
      {
        schema: {
          summary: 'The balance of one account',
          description:
            'Owners read their own accounts, operators any account. Amounts are minor units as digit strings. ' +
            'posted: settled money; pending: reserved by holds; available = posted − pending + overdraftLimit ' +
            '(settlement accounts, whose limit is unbounded: posted − pending). With minSequence the answer is at that ' +
            'sequence or later: read-your-writes after a transfer. The Balance-Source header says who answered: projection ' +
            '(the read model) or ledger (the read model had not reached minSequence in time).',
          tags: ['balances'],
          security: [{ bearer: [] }],
          params: Params,
          querystring: Query,
          response: { 200: BalanceMaybeAt, ...problems(400, 401, 404, 409, 503) },
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        const notFound = () => new ProblemError('account_not_found');
        if (request.query.at !== undefined) {
          if (request.query.minSequence !== undefined) throw new ProblemError('validation_failed', 'Ask for a balance at a moment (at) or at a sequence (minSequence), not both');
          const past = await history.at(request.params.id, request.query.at, caller);
          reply.header('balance-source', 'projection');
          return past;
        }
        // A malformed id names no account: the same answer as an unknown or foreign one.
        if (!isUuid(request.params.id)) throw notFound();
        const accountId = request.params.id.toLowerCase();
        const minSequence = request.query.minSequence === undefined ? undefined : BigInt(request.query.minSequence);

        if (minSequence === undefined) {
          const view = await reader.read(accountId);
          if (!visibleTo(view, caller)) throw notFound();
          reply.header('balance-source', 'projection');
          return toBalanceBody(view);
        }

        // A client that goes away stops the wait.
        const gone = new AbortController();
        const onClose = () => gone.abort();
        reply.raw.once('close', onClose);
        let waited: Waiting;
        try {
          waited = await waitFor(accountId, minSequence, caller, gone.signal);
        } finally {
          reply.raw.off('close', onClose);
        }
        const { view } = waited;
        if (!visibleTo(view, caller)) throw notFound();
        if (waited.reached) {
          sources.inc({ source: 'projection' });
          reply.header('balance-source', 'projection');
          return toBalanceBody(view);
        }

        // The projection is behind: the ledger is the source of truth, and never older than it.
        const booked = await ledger.balanceOf(accountId, request.id);
        if (!booked) throw notFound();
        if (booked.sequence < minSequence) {
          throw new ProblemError('sequence_not_reached', `The account is at sequence ${booked.sequence}`, { sequence: booked.sequence.toString() });
        }
        sources.inc({ source: 'ledger' });
        reply.header('balance-source', 'ledger');
        // The ledger's balance does not say when it last changed: updatedAt is when it was read. The
        // overdraft limit is the projection's (the ledger's answer has none).
        return balanceBody({
          accountId,
          currency: view.currency,
          posted: booked.posted,
          pending: booked.pending,
          overdraftLimit: view.overdraftLimit,
          sequence: booked.sequence,
          updatedAt: new Date().toISOString(),
        });
      },
    );

    registerBalanceStream(scope, {
      reader,
      changes,
      heartbeatMs: options.streamHeartbeatMs,
      streamsMax: options.streamsMax,
      ...(metrics ? { metrics } : {}),
    });
  });
}
