// Reversals: money returned against a completed transfer, from its receiver back to its sender, as
// new entries. The total reversed never exceeds the original amount. Pure.
import { decideTransfer, refuse, type LedgerAccount, type Posting, type Refusal } from './transfer.ts';

export interface Reversible {
  id: string;
  kind: string;
  amount: bigint;
  reversedAmount: bigint;
  currency: string;
}

/** `receiver` is the original's destination (it pays back), `sender` its source. */
export function decideReversal(
  original: Reversible,
  receiver: LedgerAccount,
  sender: LedgerAccount,
  amount: bigint | undefined,
): { ok: true; amount: bigint; debit: Posting; credit: Posting } | Refusal {
  if (original.kind === 'reversal') return refuse('transfer_not_reversible', 'A reversal cannot itself be reversed');
  const remaining = original.amount - original.reversedAmount;
  const requested = amount ?? remaining;
  if (remaining === 0n || requested > remaining) {
    return refuse('reversal_amount_exceeded', `${remaining} of transfer ${original.id} can still be reversed`, { remaining: remaining.toString() });
  }
  const decision = decideTransfer(receiver, sender, requested, original.currency);
  return decision.ok ? { ...decision, amount: requested } : decision;
}
