// A ledger account for the domain's tests: an active, empty standard user account in USD.
import type { LedgerAccount } from './transfer.ts';

export const ledgerAccount = (over: Partial<LedgerAccount> = {}): LedgerAccount => ({
  id: 'a',
  ownerId: 'u1',
  currency: 'USD',
  type: 'user',
  status: 'active',
  overdraftLimit: 0n,
  tier: 'standard',
  balance: 0n,
  pending: 0n,
  sequence: 0n,
  ...over,
});
