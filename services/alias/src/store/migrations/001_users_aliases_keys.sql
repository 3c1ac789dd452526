-- People, the aliases money is sent to, the accounts those aliases receive into, the keys that sign
-- access tokens and the refresh tokens that renew them.

CREATE TABLE {{schema}}.users (
  id uuid PRIMARY KEY,
  -- As typed at sign-up, without "@"; the handle alias holds the lower-cased form.
  handle text NOT NULL,
  display_name text NOT NULL,
  -- argon2id, PHC string format (parameters and salt included).
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_handle_lower ON {{schema}}.users (lower(handle));

CREATE TABLE {{schema}}.aliases (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES {{schema}}.users (id) ON DELETE CASCADE,
  type text NOT NULL CHECK (type IN ('handle', 'email', 'phone', 'random')),
  -- Canonical form: lower-cased handle without "@" (later: lower-cased e-mail, E.164 phone, UUID key).
  value text NOT NULL,
  -- As the owner typed it, for display.
  display_value text NOT NULL,
  -- Only verified aliases receive money or log in; a handle is verified when it is created.
  verified_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (type, value)
);
CREATE INDEX aliases_user ON {{schema}}.aliases (user_id);

-- The owners' user accounts, as announced by the account service (account.opened / status_changed).
CREATE TABLE {{schema}}.accounts (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status text NOT NULL CHECK (status IN ('active', 'frozen', 'closed')),
  opened_at timestamptz NOT NULL
);
CREATE INDEX accounts_user_currency ON {{schema}}.accounts (user_id, currency, opened_at);

-- Which account receives money sent to an alias, one per currency.
CREATE TABLE {{schema}}.alias_accounts (
  alias_id uuid NOT NULL REFERENCES {{schema}}.aliases (id) ON DELETE CASCADE,
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  account_id uuid NOT NULL REFERENCES {{schema}}.accounts (id),
  linked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (alias_id, currency)
);
CREATE INDEX alias_accounts_account ON {{schema}}.alias_accounts (account_id);

-- ES256 key pairs that sign access tokens. The private key is stored here as a JWK, in the clear:
-- this table is as secret as the keys themselves (restrict access to the schema, encrypt backups).
-- Moving it to a KMS or envelope encryption later changes only src/auth/keys.ts.
-- Retired keys stay published in the JWKS until the tokens they signed have expired.
CREATE TABLE {{schema}}.signing_keys (
  kid text PRIMARY KEY,
  alg text NOT NULL,
  public_jwk jsonb NOT NULL,
  private_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz
);

-- A login starts a family; each refresh spends one token and adds the next. The family ends at
-- expires_at whatever happens, or earlier when a spent token is presented again (revoked_at).
CREATE TABLE {{schema}}.refresh_token_families (
  id uuid PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES {{schema}}.users (id) ON DELETE CASCADE,
  scope text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  revoked_reason text
);
CREATE INDEX refresh_token_families_user ON {{schema}}.refresh_token_families (user_id);

CREATE TABLE {{schema}}.refresh_tokens (
  -- SHA-256 (hex) of the opaque token: the token itself is never stored.
  token_hash text PRIMARY KEY,
  family_id uuid NOT NULL REFERENCES {{schema}}.refresh_token_families (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  spent_at timestamptz
);
CREATE INDEX refresh_tokens_family ON {{schema}}.refresh_tokens (family_id);
