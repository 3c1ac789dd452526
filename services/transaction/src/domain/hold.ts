// Holds (two-phase transfers): reserve now, then post all or part, or void, or let expire. Pure.
// A hold changes state once: pending → posted | voided | expired.
import { AMOUNT_MAX } from '@wallet/money';
import { checkActive, checkMove, pair, posting, refuse, type LedgerAccount, type Posting, type Refusal } from './transfer.ts';

export type HoldStatus = 'pending' | 'posted' | 'voided' | 'expired';

export interface LedgerHold {
  id: string;
  status: HoldStatus;
  fromAccountId: string;
  toAccountId: string;
  amount: bigint;
  postedAmount: bigint;
  currency: string;
  expiresAt: Date | null;
  description: string | null;
  reference: string | null;
  metadata: Record<string, string>;
  initiatedBy: string;
  createdAt: Date;
  finishedAt: Date | null;
  /** The capture transfer, once posted. */
  transferId: string | null;
}

export const isExpired = (hold: LedgerHold, now: Date) => hold.status === 'pending' && hold.expiresAt !== null && hold.expiresAt <= now;

/** Reserve: available goes down by the amount, pending up; the posted balance does not move. */
export function decideHold(from: LedgerAccount, to: LedgerAccount, amount: bigint, currency: string): { ok: true; reserve: Posting } | Refusal {
  const refusal = checkMove(from, to, amount, currency);
  if (refusal) return refusal;
  return { ok: true, reserve: posting(from, 0n, amount) };
}

function notPending(hold: LedgerHold): Refusal {
  return refuse('hold_not_pending', `Hold ${hold.id} is already ${hold.status}`, { holdStatus: hold.status });
}

/** Capture `amount` (all when absent, never more): release the whole reservation, move the amount. */
export function decidePost(hold: LedgerHold, from: LedgerAccount, to: LedgerAccount, amount: bigint | undefined): { ok: true; amount: bigint; debit: Posting; credit: Posting } | Refusal {
  if (hold.status !== 'pending') return notPending(hold);
  const captured = amount ?? hold.amount;
  if (captured <= 0n) throw new Error('amount must be positive');
  if (captured > hold.amount) return refuse('hold_amount_exceeded', `The hold reserves ${hold.amount}`, { amount: hold.amount.toString() });
  const inactive = checkActive(from) ?? checkActive(to);
  if (inactive) return inactive;
  if (to.balance + captured > AMOUNT_MAX) return refuse('amount_too_large', 'The balance after this would be out of range');
  if (from.pending < hold.amount) throw new Error(`account ${from.id} reserves less than hold ${hold.id}`);
  return { ok: true, amount: captured, ...pair(from, to, captured, -hold.amount) };
}

/** Release the reservation (void, or expiry): nothing moves. Allowed on frozen accounts too. */
export function decideRelease(hold: LedgerHold, from: LedgerAccount): { ok: true; release: Posting } | Refusal {
  if (hold.status !== 'pending') return notPending(hold);
  if (from.pending < hold.amount) throw new Error(`account ${from.id} reserves less than hold ${hold.id}`);
  return { ok: true, release: posting(from, 0n, -hold.amount) };
}
