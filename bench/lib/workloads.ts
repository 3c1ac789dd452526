// What each workload sends: one function per workload returning the next request to send.
import { randomUUID } from 'node:crypto';
import type { BenchAccount, Fixtures } from './fixtures.ts';
import type { PlannedRequest } from './tally.ts';
import { randomInt } from './util.ts';

export type Next = () => PlannedRequest;

/** Amounts of 1.00 USD or less: funded accounts never run dry during a run. */
const amount = () => String(1 + randomInt(100));

const transferBody = (fromAccountId: string, toAccountId: string) => ({ fromAccountId, to: { accountId: toAccountId }, amount: amount(), currency: 'USD' });

export function transfer(token: string, fromAccountId: string, toAccountId: string): PlannedRequest {
  return { method: 'POST', path: '/v1/transfers', token, body: JSON.stringify(transferBody(fromAccountId, toAccountId)), idempotencyKey: randomUUID(), kind: 'transfer' };
}

/** An account set the generators draw from uniformly: the funded accounts, plus W7's bulk-loaded ones. */
export interface AccountSet {
  size: number;
  at(index: number): BenchAccount;
}

export function fundedSet(f: Fixtures): AccountSet {
  return { size: f.funded.length, at: (i) => f.funded[i]! };
}

export function workloads(f: Fixtures) {
  const token = (a: BenchAccount) => f.users[a.owner]!.token;
  const two = (set: AccountSet): [BenchAccount, BenchAccount] => {
    const a = set.at(randomInt(set.size));
    let b = set.at(randomInt(set.size));
    while (b.id === a.id) b = set.at(randomInt(set.size));
    return [a, b];
  };
  const funded = fundedSet(f);
  const byOwner = f.users.map((_, owner) => f.funded.filter((a) => a.owner === owner));
  /** W1 (and W7 over a larger set): between two distinct random funded accounts. */
  const uniform = (set: AccountSet = funded): Next => () => {
    const [a, b] = two(set);
    return transfer(token(a), a.id, b.id);
  };
  return {
    uniform,
    /** W2: every transfer debits the hot account. */
    hotDebit: (): Next => () => {
      const to = f.funded[randomInt(f.funded.length)]!;
      return transfer(token(f.hot), f.hot.id, to.id);
    },
    /** W2 reversed: every transfer credits the hot account. */
    hotCredit: (): Next => () => {
      const from = f.funded[randomInt(f.funded.length)]!;
      return transfer(token(from), from.id, f.hot.id);
    },
    /** W3: a batch of `size` transfers from one user's accounts to random funded accounts. */
    batch: (size: number): Next => () => {
      const owner = randomInt(f.users.length);
      const mine = byOwner[owner]!;
      const items = Array.from({ length: size }, () => {
        const from = mine[randomInt(mine.length)]!;
        let to = f.funded[randomInt(f.funded.length)]!;
        while (to.id === from.id) to = f.funded[randomInt(f.funded.length)]!;
        return transferBody(from.id, to.id);
      });
      return { method: 'POST', path: '/v1/transfers/batch', token: f.users[owner]!.token, body: JSON.stringify({ transfers: items }), idempotencyKey: randomUUID(), kind: 'batch' };
    },
    /** W4: one request in ten comes from a never-funded account and must be refused. */
    tenPercentRefused: (): Next => {
      const funded = uniform();
      return () => {
        if (randomInt(10) !== 0) return funded();
        const from = f.unfunded[randomInt(f.unfunded.length)]!;
        const to = f.funded[randomInt(f.funded.length)]!;
        return transfer(token(from), from.id, to.id);
      };
    },
    /** W5: the owner reads a random funded account's balance. */
    balanceRead: (): Next => () => {
      const a = f.funded[randomInt(f.funded.length)]!;
      return { method: 'GET', path: `/v1/accounts/${a.id}/balance`, token: token(a), kind: 'read' };
    },
    /** W6: a random user looks up a random handle. */
    aliasLookup: (): Next => () => {
      const caller = f.users[randomInt(f.users.length)]!;
      const target = f.users[randomInt(f.users.length)]!;
      return { method: 'GET', path: `/v1/aliases/${target.handle}?currency=USD`, token: caller.token, kind: 'read' };
    },
  };
}
