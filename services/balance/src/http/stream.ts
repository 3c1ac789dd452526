// GET /v1/accounts/{id}/balance/stream — an account's balance as Server-Sent Events.
//
// First the current balance (no Last-Event-ID), then one `balance` event per entry, its id the entry's
// sequence; with `Last-Event-ID: N` (a reconnect) every entry after N instead of the snapshot. Entries
// are read from the history in PostgreSQL (balance.entries) after the last sequence sent, so a stream
// neither misses nor repeats one, whatever the notifications did: the change hub only says when to
// look. Comment lines keep the connection alive. A limits change alone sends nothing (its new limit
// comes with the next entry or the next snapshot): the history has no place for it, and a resumed
// stream could not replay it exactly.
import { PassThrough } from 'node:stream';
import { Type } from 'typebox';
import { Gauge, type Registry } from 'prom-client';
import { callerOf, isOperator, ProblemError, type App, type Caller } from '@wallet/kit';
import { problems, type Balance } from '@wallet/contracts';
import { availableOf, canRead, type BalanceView } from '../domain/balance.ts';
import { isUuid } from '../domain/entry.ts';
import type { Change, ChangeHub, Following } from '../events/changes.ts';
import type { BalanceChange, BalanceReader } from '../store/balance-reader.ts';

export interface BalanceStreamOptions {
  reader: BalanceReader;
  changes: ChangeHub;
  /** Between two comment lines when nothing else is sent. */
  heartbeatMs: number;
  /** Open streams in this process at most; beyond, 503 too_many_streams. */
  streamsMax: number;
  /** Entries read from the history per query. */
  pageSize?: number;
  metrics?: Registry;
}

/** The parts of a balance as the API shows it; `available` is derived. */
export interface BalanceParts {
  accountId: string;
  currency: string;
  posted: bigint;
  pending: bigint;
  overdraftLimit: bigint;
  sequence: bigint;
  updatedAt: string;
}

export function balanceBody(parts: BalanceParts): Balance {
  return {
    accountId: parts.accountId,
    currency: parts.currency,
    posted: parts.posted.toString(),
    pending: parts.pending.toString(),
    available: availableOf(parts).toString(),
    overdraftLimit: parts.overdraftLimit.toString(),
    sequence: parts.sequence.toString(),
    updatedAt: parts.updatedAt,
  };
}

/** A row only a limits change has written (no entry, no opening) is no balance yet. */
export const hasCurrency = (view: BalanceView): view is BalanceView & { currency: string } => view.currency !== null;

/** Whether this caller may see this balance now (owner or operator, and a balance to show). */
export function visibleTo(view: BalanceView | undefined, caller: Caller): view is BalanceView & { currency: string } {
  return view !== undefined && hasCurrency(view) && canRead(view, { subject: caller.subject, operator: isOperator(caller) });
}

/** When the access token stops being valid (ms), read from its own claims; it was verified already. */
function tokenExpiry(token: string): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

export const sseEvent = (sequence: bigint, body: Balance) => `id: ${sequence}\nevent: balance\ndata: ${JSON.stringify(body)}\n\n`;

const Params = Type.Object({ id: Type.String({ description: 'Account id (UUID); anything else is answered like an unknown account' }) });
const Headers = Type.Object({
  'last-event-id': Type.Optional(
    Type.String({ pattern: '^[0-9]{1,19}$', description: 'The sequence of the last event received: the stream goes on after it, without the snapshot' }),
  ),
});

interface Log {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** One open stream. */
class BalanceStream {
  readonly body = new PassThrough();
  private lastSent = 0n;
  private started = false;
  private pumping = false;
  private again = false;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private following: Following | undefined;

  readonly accountId: string;
  private readonly reader: BalanceReader;
  private readonly pageSize: number;
  private readonly log: Log;
  private readonly onEnd: (stream: BalanceStream) => void;

  constructor(accountId: string, reader: BalanceReader, pageSize: number, log: Log, onEnd: (stream: BalanceStream) => void) {
    this.accountId = accountId;
    this.reader = reader;
    this.pageSize = pageSize;
    this.log = log;
    this.onEnd = onEnd;
    this.body.once('close', () => this.end());
  }

  /** The hub's callback: read the history unless the change is known to be sent already. */
  readonly wake = (change: Change | undefined) => {
    if (this.closed) return;
    if (change && this.started && change.sequence <= this.lastSent) return; // a limits change, or one sent already
    if (!this.started) {
      this.again = true; // looked at once the stream has started
      return;
    }
    void this.pump();
  };

  follow(changes: ChangeHub): Following {
    this.following = changes.follow(this.accountId, this.wake);
    return this.following;
  }

  /** Starts sending: the snapshot (or nothing, on a resume), then whatever the history holds after it. */
  start(view: BalanceView & { currency: string }, lastEventId: bigint | undefined, heartbeatMs: number, expiresAt: number) {
    this.body.write(': balance stream\n\n');
    if (lastEventId === undefined) {
      this.body.write(sseEvent(view.sequence, balanceBody(view)));
      this.lastSent = view.sequence;
    } else {
      this.lastSent = lastEventId;
      this.again = true;
    }
    this.started = true;
    this.heartbeat = setInterval(() => {
      // A stream outlives no token: the client reconnects with a fresh one and its Last-Event-ID.
      if (Date.now() >= expiresAt) return this.end();
      if (!this.body.writableNeedDrain) this.body.write(':\n\n');
    }, heartbeatMs);
    // The snapshot may be older than the history (a cached balance), and a wake may have come first.
    if (this.again || lastEventId === undefined) void this.pump();
  }

  /** Sends every entry after the last one sent, in order, page by page; runs once at a time. */
  private async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        for (;;) {
          const page = await this.reader.changesAfter(this.accountId, this.lastSent, this.pageSize);
          if (this.closed) return;
          for (const change of page) {
            if (change.sequence !== this.lastSent + 1n) {
              // The history does not reach back to the client's Last-Event-ID: say where it stands now.
              await this.resetToCurrent();
              break;
            }
            await this.send(change);
            if (this.closed) return;
          }
          if (page.length < this.pageSize) break;
        }
      } while (this.again && !this.closed);
    } catch (error) {
      // The client reconnects with its Last-Event-ID and misses nothing.
      this.log.warn({ err: error, accountId: this.accountId }, 'balance stream ended: reading its changes failed');
      this.end();
    } finally {
      this.pumping = false;
    }
  }

  private async send(change: BalanceChange) {
    this.lastSent = change.sequence;
    if (!this.body.write(sseEvent(change.sequence, balanceBody(change)))) await this.drained();
  }

  private async resetToCurrent() {
    const view = await this.reader.readStored(this.accountId);
    if (this.closed || !view || !hasCurrency(view)) return this.end();
    this.log.debug({ accountId: this.accountId, from: this.lastSent, to: view.sequence }, 'balance stream resumed from the current balance: history missing');
    this.lastSent = view.sequence;
    if (!this.body.write(sseEvent(view.sequence, balanceBody(view)))) await this.drained();
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.body.off('drain', done);
        this.body.off('close', done);
        resolve();
      };
      this.body.once('drain', done);
      this.body.once('close', done);
    });
  }

  /** Idempotent: stops following, stops the heartbeat, ends the response. */
  end() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.following?.stop();
    if (!this.body.destroyed) this.body.end();
    this.onEnd(this);
  }
}

/** Registers the stream route in a scope whose requests are authenticated already. */
export function registerBalanceStream(scope: App, { reader, changes, heartbeatMs, streamsMax, pageSize = 500, metrics }: BalanceStreamOptions): void {
  const open = new Set<BalanceStream>();
  const registers = metrics ? [metrics] : [];
  const gauge = new Gauge({ name: 'balance_streams_open', help: 'Balance streams open in this process', registers });
  new Gauge({
    name: 'balance_change_followers',
    help: 'Followers of account changes in this process: open streams and reads waiting for a sequence',
    registers,
    collect() {
      this.set(changes.followers());
    },
  });
  const released = (stream: BalanceStream) => {
    if (open.delete(stream)) gauge.set(open.size);
  };

  // Open streams never finish on their own: end them, so that closing the server does not wait for them.
  scope.addHook('preClose', (done) => {
    for (const stream of [...open]) stream.end();
    done();
  });

  scope.get(
    '/v1/accounts/:id/balance/stream',
    {
      schema: {
        summary: 'Live balance updates (Server-Sent Events)',
        description:
          'text/event-stream. Without Last-Event-ID: first the current balance, then every change. Each event is ' +
          '`event: balance`, `id: <sequence>`, `data: <Balance JSON>`; comment lines are heartbeats. Reconnect with ' +
          '`Last-Event-ID: <sequence>` to receive every change after it, in order, none twice (no snapshot then). ' +
          'A change of the overdraft limit alone sends nothing: the new limit comes with the next change. ' +
          'Owners stream their own accounts, operators any account.',
        tags: ['balances'],
        security: [{ bearer: [] }],
        params: Params,
        headers: Headers,
        response: {
          200: { description: 'A stream of balance events', content: { 'text/event-stream': { schema: Type.String() } } },
          ...problems(400, 401, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      // A malformed id names no account: the same answer as an unknown or foreign one.
      if (!isUuid(request.params.id)) throw new ProblemError('account_not_found');
      if (open.size >= streamsMax) {
        reply.header('retry-after', '5');
        throw new ProblemError('too_many_streams', `This instance serves ${streamsMax} streams already; try again shortly`);
      }
      const lastEventId = request.headers['last-event-id'];
      const accountId = request.params.id.toLowerCase();
      const stream = new BalanceStream(accountId, reader, pageSize, request.log, released);
      open.add(stream); // the slot is taken before the first await
      gauge.set(open.size);
      let view: BalanceView | undefined;
      try {
        // Following before reading: a change committed after the read wakes the stream.
        await stream.follow(changes).ready;
        view = await reader.read(accountId);
      } catch (error) {
        stream.end();
        throw error;
      }
      if (!visibleTo(view, caller)) {
        stream.end();
        throw new ProblemError('account_not_found');
      }
      // The heartbeat keeps it busy; the server's idle timeout must not end it between two.
      request.raw.socket?.setTimeout(0);
      reply.raw.once('close', () => stream.end());
      stream.start(view, lastEventId === undefined ? undefined : BigInt(lastEventId), heartbeatMs, tokenExpiry(caller.token));
      return reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache, no-transform')
        .header('x-accel-buffering', 'no')
        // One stream per connection: once it ends the connection goes too, so closing the server never waits for it.
        .header('connection', 'close')
        .send(stream.body as unknown as string); // the typed 200 is text/event-stream
    },
  );
}
