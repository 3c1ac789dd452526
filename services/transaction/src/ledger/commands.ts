// What callers ask the ledger to do, and how each request is resolved before it is committed:
// accounts and aliases looked up, holds and transfers found, and who may do what checked.
import { isOperator, ProblemError, type Caller, type Db } from '@wallet/kit';
import type { Directory } from '../directory.ts';
import { getHold } from '../store/hold-store.ts';
import { getTransfer } from '../store/ledger-store.ts';

export type Destination = { accountId: string } | { alias: string };

/** The part of every request that idempotency is about. */
export interface Request {
  caller: Caller;
  idempotencyKey: string;
  /** Hash of the request; the same key with another request is refused. */
  fingerprint: string;
  requestId?: string;
}

export interface Details {
  description: string | null;
  reference: string | null;
  metadata: Record<string, string>;
}

export interface TransferCommand extends Request, Details {
  op: 'transfer';
  kind: 'transfer' | 'deposit' | 'withdrawal';
  from: { accountId: string } | { settlement: true };
  to: Destination | { settlement: true };
  amount: bigint;
  currency: string;
}

export interface HoldCommand extends Request, Details {
  op: 'hold';
  from: { accountId: string };
  to: Destination;
  amount: bigint;
  currency: string;
  timeoutSeconds: number;
}

export interface PostCommand extends Request {
  op: 'post';
  holdId: string;
  /** All of the hold when absent. */
  amount?: bigint;
}

export interface VoidCommand extends Request {
  op: 'void';
  holdId: string;
}

export interface ReversalCommand extends Request, Details {
  op: 'reversal';
  transferId: string;
  /** What remains unreversed when absent. */
  amount?: bigint;
}

/** The expiry job's: no caller, no idempotency key; a hold expires once because its status changes once. */
export interface ExpireCommand {
  op: 'expire';
  holdId: string;
}

export type Command = TransferCommand | HoldCommand | PostCommand | VoidCommand | ReversalCommand;

/** A command with the two accounts it touches (locked in id order when committed). */
export interface Resolved {
  command: Command | ExpireCommand;
  fromId: string;
  toId: string;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createResolver(db: Db, directory: Directory) {
  const owns = async (caller: Caller, accountId: string, requestId?: string) => (await directory.account(accountId, requestId)).ownerId === caller.subject;

  const destination = async (to: Destination, currency: string, requestId?: string) =>
    'alias' in to ? directory.resolveAlias(to.alias, currency, requestId) : to.accountId;

  /** Money leaves only accounts the caller owns (operators: any); people pay people. */
  const userMove = async (c: Request, fromAccountId: string, to: Destination, currency: string): Promise<[string, string]> => {
    const from = await directory.account(fromAccountId, c.requestId);
    // Anything not the caller's looks like a missing account.
    if (from.ownerId !== c.caller.subject && !isOperator(c.caller)) throw new ProblemError('account_not_found');
    const toAccount = await directory.account(await destination(to, currency, c.requestId), c.requestId);
    if (from.type !== 'user' || toAccount.type !== 'user') throw new ProblemError('account_not_found');
    return [from.id, toAccount.id];
  };

  const transfer = async (c: TransferCommand): Promise<Resolved> => {
    if (c.kind === 'transfer' && !('settlement' in c.from) && !('settlement' in c.to)) {
      const [fromId, toId] = await userMove(c, c.from.accountId, c.to, c.currency);
      return { command: c, fromId, toId };
    }
    const settlement = () => directory.settlementAccount(c.currency, c.requestId);
    const from = 'settlement' in c.from ? await settlement() : await directory.account(c.from.accountId, c.requestId);
    const to = 'settlement' in c.to ? await settlement() : await directory.account(await destination(c.to, c.currency, c.requestId), c.requestId);
    return { command: c, fromId: from.id, toId: to.id };
  };

  const hold = async (c: PostCommand | VoidCommand) => {
    const found = uuidPattern.test(c.holdId) ? await getHold(db, c.holdId.toLowerCase()) : undefined;
    if (!found) throw new ProblemError('hold_not_found');
    if (isOperator(c.caller)) return { command: c, fromId: found.fromAccountId, toId: found.toAccountId };
    const [payer, payee] = await Promise.all([owns(c.caller, found.fromAccountId, c.requestId), owns(c.caller, found.toAccountId, c.requestId)]);
    if (!payer && !payee) throw new ProblemError('hold_not_found');
    // The payer granted the hold; taking it back needs the payee (or an operator, or its timeout).
    if (c.op === 'void' && !payee) throw new ProblemError('forbidden', 'Only the payee or an operator can void a hold; it also ends when its timeout passes');
    return { command: c, fromId: found.fromAccountId, toId: found.toAccountId };
  };

  const reversal = async (c: ReversalCommand): Promise<Resolved> => {
    const original = uuidPattern.test(c.transferId) ? await getTransfer(db, c.transferId.toLowerCase()) : undefined;
    if (!original) throw new ProblemError('transfer_not_found');
    const resolved = { command: c, fromId: original.toAccountId, toId: original.fromAccountId };
    if (isOperator(c.caller)) return resolved;
    const [sender, receiver] = await Promise.all([owns(c.caller, original.fromAccountId, c.requestId), owns(c.caller, original.toAccountId, c.requestId)]);
    if (!sender && !receiver) throw new ProblemError('transfer_not_found');
    if (original.kind === 'reversal') throw new ProblemError('transfer_not_reversible', 'A reversal cannot itself be reversed');
    // Money goes back only with the receiver's consent; deposits and withdrawals are operators' to undo.
    if (!receiver || (original.kind !== 'transfer' && original.kind !== 'capture')) {
      throw new ProblemError('forbidden', 'Only the receiver of a transfer, or an operator, can reverse it');
    }
    return resolved;
  };

  return async function resolve(c: Command): Promise<Resolved> {
    switch (c.op) {
      case 'transfer':
        return transfer(c);
      case 'hold': {
        const [fromId, toId] = await userMove(c, c.from.accountId, c.to, c.currency);
        return { command: c, fromId, toId };
      }
      case 'post':
      case 'void':
        return hold(c);
      case 'reversal':
        return reversal(c);
    }
  };
}
