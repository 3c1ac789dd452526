-- Balance alerts (a threshold on the available balance) and point-in-time reads of the history.

-- One row per alert. The evaluation locks an account's alert rows, walks the entries after
-- checked_sequence and writes the new state together with the outbox rows of its crossings, so a
-- crossing is published once however many replicas evaluate it, however often.
CREATE TABLE IF NOT EXISTS {{schema}}.alerts (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL,
  -- The account's owner when the alert was made (accounts do not change owners); carried in the event.
  owner_id text NOT NULL,
  below bigint NOT NULL CHECK (below >= 0),
  -- armed: available was at or above `below` when last evaluated; triggered: under it.
  state text NOT NULL CHECK (state IN ('armed', 'triggered')),
  -- The last sequence evaluated, the available then, and the balance row's revision then (a limits
  -- change moves available without an entry: a new revision says there is something to evaluate).
  checked_sequence bigint NOT NULL CHECK (checked_sequence >= 0),
  checked_available bigint NOT NULL,
  checked_revision bigint NOT NULL,
  trigger_count integer NOT NULL DEFAULT 0,
  last_triggered_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- No foreign key to balances on purpose: it would take a key-share lock on the balance row the
-- projector locks for update.
CREATE INDEX IF NOT EXISTS alerts_account ON {{schema}}.alerts (account_id);

-- Balances at a moment and per day read an account's entries by time, like the ledger's statement.
CREATE INDEX IF NOT EXISTS entries_account_time ON {{schema}}.entries (account_id, created_at);
