-- Holds (two-phase transfers), reversals, and the limits the transfer policy reads.

-- Reserved by pending holds out of the account; available = balance - pending + overdraft.
ALTER TABLE {{schema}}.accounts ADD COLUMN IF NOT EXISTS pending bigint NOT NULL DEFAULT 0 CHECK (pending >= 0);
-- The transfer policy's tier for the account's limits; set by operators in the account service.
ALTER TABLE {{schema}}.accounts ADD COLUMN IF NOT EXISTS tier text NOT NULL DEFAULT 'standard';
ALTER TABLE {{schema}}.accounts ADD COLUMN IF NOT EXISTS limits_changed_at timestamptz;
-- An operator may lower an overdraft below what the account already owes: the account then cannot
-- spend, but its balance stays as it is. The decision, not a constraint, enforces the limit.
ALTER TABLE {{schema}}.accounts DROP CONSTRAINT IF EXISTS accounts_check;

ALTER TABLE {{schema}}.transfers DROP CONSTRAINT IF EXISTS transfers_kind_check;
ALTER TABLE {{schema}}.transfers ADD CONSTRAINT transfers_kind_check CHECK (kind IN ('transfer', 'deposit', 'withdrawal', 'capture', 'reversal'));
ALTER TABLE {{schema}}.transfers ADD COLUMN IF NOT EXISTS hold_id uuid;
ALTER TABLE {{schema}}.transfers ADD COLUMN IF NOT EXISTS reversal_of uuid;
ALTER TABLE {{schema}}.transfers ADD COLUMN IF NOT EXISTS reversed_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE {{schema}}.transfers ADD CONSTRAINT transfers_reversed_within CHECK (reversed_amount >= 0 AND reversed_amount <= amount);
-- Rolling limits and velocity read an account's own outgoing transfers by time.
CREATE INDEX IF NOT EXISTS transfers_outgoing ON {{schema}}.transfers (from_account_id, created_at) WHERE kind = 'transfer';

-- An entry may change only the reserved amount (a hold, its void or expiry): amount 0.
ALTER TABLE {{schema}}.entries ADD COLUMN IF NOT EXISTS pending_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE {{schema}}.entries ADD COLUMN IF NOT EXISTS pending_after bigint NOT NULL DEFAULT 0;
ALTER TABLE {{schema}}.entries DROP CONSTRAINT IF EXISTS entries_amount_check;
ALTER TABLE {{schema}}.entries ADD CONSTRAINT entries_moves_something CHECK (amount <> 0 OR pending_amount <> 0);

CREATE TABLE IF NOT EXISTS {{schema}}.holds (
  id uuid PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
  from_account_id uuid NOT NULL,
  to_account_id uuid NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  posted_amount bigint NOT NULL DEFAULT 0,
  currency char(3) NOT NULL,
  expires_at timestamptz,
  description text,
  reference text,
  metadata json NOT NULL DEFAULT '{}',
  initiated_by text NOT NULL,
  created_at timestamptz NOT NULL,
  finished_at timestamptz,
  transfer_id uuid,
  CHECK (from_account_id <> to_account_id),
  CHECK (posted_amount >= 0 AND posted_amount <= amount),
  CHECK ((status = 'pending') = (finished_at IS NULL)),
  CHECK ((status = 'posted') = (transfer_id IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS holds_expiring ON {{schema}}.holds (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS holds_from ON {{schema}}.holds (from_account_id, created_at);
CREATE INDEX IF NOT EXISTS holds_to ON {{schema}}.holds (to_account_id, created_at);
CREATE INDEX IF NOT EXISTS holds_reference ON {{schema}}.holds (reference) WHERE reference IS NOT NULL;
