-- The ledger of record. Balances here decide whether money may move; everything else is derived.

-- Accounts as the ledger knows them: a copy of the account service's data (fed by its events, or
-- fetched over REST on a miss) plus the authoritative balance and the per-account entry sequence.
CREATE TABLE {{schema}}.accounts (
  id uuid PRIMARY KEY,
  owner_id text NOT NULL,
  currency char(3) NOT NULL,
  type text NOT NULL CHECK (type IN ('user', 'settlement')),
  status text NOT NULL CHECK (status IN ('active', 'frozen', 'closed')),
  -- How far below zero the balance may go; NULL means without bound (settlement accounts).
  overdraft_limit bigint CHECK (overdraft_limit >= 0),
  balance bigint NOT NULL DEFAULT 0,
  sequence bigint NOT NULL DEFAULT 0,
  status_changed_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (overdraft_limit IS NULL OR balance >= -overdraft_limit)
);

CREATE TABLE {{schema}}.transfers (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('transfer', 'deposit', 'withdrawal')),
  from_account_id uuid NOT NULL REFERENCES {{schema}}.accounts (id),
  to_account_id uuid NOT NULL REFERENCES {{schema}}.accounts (id),
  amount bigint NOT NULL CHECK (amount > 0),
  currency char(3) NOT NULL,
  description text,
  initiated_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (from_account_id <> to_account_id)
);

-- Two entries per transfer, each self-auditing: the balance after it and the account's sequence.
CREATE TABLE {{schema}}.entries (
  account_id uuid NOT NULL REFERENCES {{schema}}.accounts (id),
  sequence bigint NOT NULL CHECK (sequence > 0),
  transfer_id uuid NOT NULL REFERENCES {{schema}}.transfers (id),
  amount bigint NOT NULL CHECK (amount <> 0),
  balance_after bigint NOT NULL,
  currency char(3) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, sequence)
);
CREATE INDEX entries_transfer ON {{schema}}.entries (transfer_id);

-- Idempotency records, scoped per caller; refusals are stored too, so a retry is refused again.
CREATE TABLE {{schema}}.idempotency (
  caller text NOT NULL,
  key text NOT NULL,
  fingerprint text NOT NULL,
  status integer NOT NULL,
  body jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_created ON {{schema}}.idempotency (created_at);
