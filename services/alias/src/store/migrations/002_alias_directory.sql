-- The alias directory: e-mail, phone and random-key aliases next to handles, ownership codes,
-- handle changes with reservations, explicit receiving accounts per currency.

-- One alias, one owner: among VERIFIED aliases a canonical value is unique. Pending claims of an
-- e-mail address or phone number (verified_at NULL) do not block anyone: several people may claim
-- the same address at once, the first to enter the code sent there wins, the others' claims die.
ALTER TABLE {{schema}}.aliases DROP CONSTRAINT aliases_type_value_key;
CREATE UNIQUE INDEX aliases_verified_value ON {{schema}}.aliases (type, value) WHERE verified_at IS NOT NULL;
-- A person claims a value once.
CREATE UNIQUE INDEX aliases_user_value ON {{schema}}.aliases (user_id, type, value);
-- A person has exactly one handle (made at sign-up, changed in place, never deleted).
CREATE UNIQUE INDEX aliases_one_handle ON {{schema}}.aliases (user_id) WHERE type = 'handle';
CREATE INDEX aliases_pending_value ON {{schema}}.aliases (type, value) WHERE verified_at IS NULL;

-- The code of a pending claim: HMAC-SHA256 under a server key (never the code), bound to the claim.
-- The claim lives as long as its latest code; after expires_at it is dead and swept.
CREATE TABLE {{schema}}.alias_verifications (
  alias_id uuid PRIMARY KEY REFERENCES {{schema}}.aliases (id) ON DELETE CASCADE,
  code_hash text NOT NULL,
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  expires_at timestamptz NOT NULL,
  sent_at timestamptz NOT NULL
);
CREATE INDEX alias_verifications_expires ON {{schema}}.alias_verifications (expires_at);

-- Every code sent, per person and address, kept an hour: limits resends (1 per 60 s, 5 per hour)
-- even when the claim is deleted and made again.
CREATE TABLE {{schema}}.verification_sends (
  user_id uuid NOT NULL REFERENCES {{schema}}.users (id) ON DELETE CASCADE,
  type text NOT NULL CHECK (type IN ('email', 'phone')),
  value text NOT NULL,
  sent_at timestamptz NOT NULL
);
CREATE INDEX verification_sends_target ON {{schema}}.verification_sends (user_id, type, value, sent_at);
CREATE INDEX verification_sends_sent ON {{schema}}.verification_sends (sent_at);

-- Handles a person left, reserved to them until reserved_until: nobody else may take them, they may
-- switch back. Canonical (lower-cased) values.
CREATE TABLE {{schema}}.handle_reservations (
  value text PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES {{schema}}.users (id) ON DELETE CASCADE,
  display_value text NOT NULL,
  reserved_until timestamptz NOT NULL
);
CREATE INDEX handle_reservations_user ON {{schema}}.handle_reservations (user_id);

-- Each handle change, counted against HANDLE_CHANGES_MAX.
CREATE TABLE {{schema}}.handle_changes (
  user_id uuid NOT NULL REFERENCES {{schema}}.users (id) ON DELETE CASCADE,
  from_value text NOT NULL,
  to_value text NOT NULL,
  changed_at timestamptz NOT NULL
);
CREATE INDEX handle_changes_user ON {{schema}}.handle_changes (user_id);

-- A row with account_id NULL: the owner unlinked this alias in this currency, and new accounts do
-- not link it again by themselves (only the owner does).
ALTER TABLE {{schema}}.alias_accounts ALTER COLUMN account_id DROP NOT NULL;

-- Status changes apply in the order they happened, whatever order the events arrive in.
ALTER TABLE {{schema}}.accounts ADD COLUMN status_changed_at timestamptz;
