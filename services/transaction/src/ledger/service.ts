// The ledger's entry point. Requests are resolved (accounts, alias, holds, who may act) on their own,
// then committed in groups: every item waiting when the previous group finishes goes into ONE
// PostgreSQL transaction (commit.ts), decided one after another (issue 3's group commit).
import { createBatcher, currentTraceCarrier, linkTo, ProblemError, withSpan, type Db, type Settled } from '@wallet/kit';
import type { Policy } from '../domain/policy.ts';
import type { Directory } from '../directory.ts';
import { findIdempotency } from '../store/ledger-store.ts';
import { createResolver, type Command, type Resolved, type TransferCommand } from './commands.ts';
import { claimOf, commitGroup, replay, type KeyClaim, type Outcome, type Unit } from './commit.ts';

export type { Outcome } from './commit.ts';

export interface LedgerService {
  execute(command: Command): Promise<Outcome>;
  /** Up to 1,000 transfers applied in order under one key, each with its own outcome; with `atomic`, all or none. */
  executeBatch(key: KeyClaim, commands: readonly TransferCommand[], atomic: boolean): Promise<Settled<Outcome>[]>;
  /** Expires these holds if they are still pending and past their time (the expiry job's call). */
  expire(holds: readonly { id: string; fromAccountId: string; toAccountId: string }[]): Promise<void>;
}

export interface LedgerServiceOptions {
  db: Db;
  directory: Directory;
  policy: Policy;
  /** Called after each group commits, with the outcomes (wakes the outbox relay, counts). */
  onCommit: (outcomes: readonly Settled<Outcome>[]) => void;
  groupSizeMax: number;
  /** Groups committing at once: with 2, one prepares while the other waits for its commit. */
  groupsInFlightMax: number;
  /** Wait before taking a group (embedded mode: lets requests pile up while PGlite holds the thread). */
  groupLingerMs: number;
}

export function createLedgerService({ db, directory, policy, onCommit, groupSizeMax, groupsInFlightMax, groupLingerMs }: LedgerServiceOptions): LedgerService {
  // One commit serves many requests: its span starts a trace of its own, linked to each request's.
  const commit = async (units: Unit[]) => {
    const links = units.slice(0, 128).flatMap((u) => linkTo(u.trace));
    const attributes = { 'wallet.ledger.units': units.length, 'wallet.ledger.items': units.reduce((n, u) => n + u.items.length, 0) };
    const results = await withSpan('ledger.commit', { root: true, links, attributes }, () => db.tx((q) => commitGroup(q, policy, units)));
    onCommit(results.flat());
    return results;
  };
  const batcher = createBatcher<Unit, Settled<Outcome>[]>(async (units) => {
    try {
      return (await commit(units)).map((value) => ({ ok: true, value }));
    } catch (error) {
      if (units.length === 1) throw error;
      // Something in the group failed as a whole: commit each unit alone, so one cannot fail the others.
      const alone: Settled<Settled<Outcome>[]>[] = [];
      for (const unit of units) {
        alone.push(await commit([unit]).then(([value]) => ({ ok: true as const, value: value! }), (e: unknown) => ({ ok: false as const, error: e })));
      }
      return alone;
    }
  }, groupSizeMax, { concurrency: groupsInFlightMax, lingerMs: groupLingerMs });

  const resolve = createResolver(db, directory);

  /** A replay answers as the first request did, even if the accounts, alias or hold changed since. */
  const storedOutcome = async (key: KeyClaim, batch: boolean, count: number): Promise<Settled<Outcome>[] | undefined> => {
    const [stored] = await findIdempotency(db, [key]);
    return stored && replay(key, batch, count, stored);
  };

  return {
    async execute(c) {
      const key = claimOf(c);
      let resolved: Resolved;
      try {
        resolved = await resolve(c);
      } catch (error) {
        const [stored] = (await storedOutcome(key, false, 1)) ?? [];
        if (!stored) throw error;
        if (!stored.ok) throw stored.error;
        return stored.value;
      }
      const [outcome] = await batcher.submit({ key, items: [resolved], atomic: false, batch: false, trace: currentTraceCarrier() });
      if (!outcome!.ok) throw outcome!.error;
      return outcome!.value;
    },

    async executeBatch(key, commands, atomic) {
      const resolved = await Promise.all(commands.map((c) => resolve(c).then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }))));
      const failed = resolved.findIndex((r) => !r.ok);
      if (failed >= 0) {
        const stored = await storedOutcome(key, true, commands.length);
        if (stored) return stored;
        const error = (resolved[failed] as { error: unknown }).error;
        throw error instanceof ProblemError ? new ProblemError(error.code, `Transfer ${failed}: ${error.message}`, { index: failed }) : error;
      }
      return batcher.submit({ key, items: resolved.map((r) => (r as { value: Resolved }).value), atomic, batch: true, trace: currentTraceCarrier() });
    },

    async expire(holds) {
      if (holds.length === 0) return;
      const items: Resolved[] = holds.map((h) => ({ command: { op: 'expire', holdId: h.id }, fromId: h.fromAccountId, toId: h.toAccountId }));
      await batcher.submit({ items, atomic: false, batch: false });
    },
  };
}
