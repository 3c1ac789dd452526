-- Accounts: who owns them, their currency, type and status. Balances live in the ledger, not here.
CREATE TABLE IF NOT EXISTS {{schema}}.accounts (
  id uuid PRIMARY KEY,
  owner_id text NOT NULL CHECK (length(owner_id) BETWEEN 1 AND 200),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
  type text NOT NULL CHECK (type IN ('user', 'settlement')),
  status text NOT NULL CHECK (status IN ('active', 'frozen', 'closed')),
  overdraft_limit bigint NOT NULL DEFAULT 0 CHECK (overdraft_limit >= 0),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS accounts_owner_idx ON {{schema}}.accounts (owner_id, created_at, id);

-- One settlement account per currency: concurrent get-or-create calls meet on this index.
CREATE UNIQUE INDEX IF NOT EXISTS accounts_settlement_currency_idx ON {{schema}}.accounts (currency) WHERE type = 'settlement';
