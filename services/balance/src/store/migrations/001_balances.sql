-- The balance read model: one row per account, and every applied ledger entry (the base for
-- point-in-time balances and drift checks). Rebuildable from the ledger at any time.
CREATE TABLE IF NOT EXISTS {{schema}}.balances (
  account_id uuid PRIMARY KEY,
  -- Null while entries have overtaken the account.opened event.
  owner_id text,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  available bigint NOT NULL DEFAULT 0,
  pending bigint NOT NULL DEFAULT 0,
  -- Sequence of the last applied entry; 0 before the first.
  sequence bigint NOT NULL DEFAULT 0 CHECK (sequence >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS {{schema}}.entries (
  account_id uuid NOT NULL REFERENCES {{schema}}.balances (account_id),
  sequence bigint NOT NULL CHECK (sequence > 0),
  amount bigint NOT NULL,
  balance_after bigint NOT NULL,
  -- Null for entries repaired from the ledger's entry listing when it does not name the transfer.
  transfer_id uuid,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, sequence)
);
