-- Authentication hardening: login throttling shared by every replica, revoked access tokens, a
-- second factor (TOTP and recovery codes), signing keys that are published before they sign.

-- Failed logins per key: 'user:<id>' (an account), 'name:<sha256>' (a username nobody holds: throttled
-- exactly like an account, so throttling never tells whether a name exists) and 'ip:<address>' (IPv6
-- by /64). A row is counted before the password is checked and given back when it was right, so
-- parallel guesses cannot slip past the count. Rows quiet for the failure window are swept.
CREATE TABLE {{schema}}.login_failures (
  key text PRIMARY KEY,
  failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
  last_failure_at timestamptz
);
CREATE INDEX login_failures_last ON {{schema}}.login_failures (last_failure_at);

-- Access tokens revoked before they expire (RFC 7009), by `jti`; kept until `exp`, then swept.
-- Introspection and this service's own routes refuse them; other services verify tokens locally.
CREATE TABLE {{schema}}.revoked_access_tokens (
  jti text PRIMARY KEY,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revoked_access_tokens_expires ON {{schema}}.revoked_access_tokens (expires_at);

-- One TOTP secret per user, AES-256-GCM encrypted (see src/auth/secret-box.ts), bound to the user id.
-- Pending until confirmed with a first code; last_step stops a code from being used twice.
CREATE TABLE {{schema}}.totp_credentials (
  user_id uuid PRIMARY KEY REFERENCES {{schema}}.users (id) ON DELETE CASCADE,
  secret_encrypted text NOT NULL,
  confirmed_at timestamptz,
  last_step bigint,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One-time recovery codes: SHA-256 (hex) of the normalised code (80 random bits), each usable once.
CREATE TABLE {{schema}}.recovery_codes (
  user_id uuid NOT NULL REFERENCES {{schema}}.users (id) ON DELETE CASCADE,
  code_hash text NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, code_hash)
);

-- Keys this service generates for itself when none is configured (the TOTP encryption key without
-- TOTP_ENCRYPTION_KEY): as secret as the signing keys' table.
CREATE TABLE {{schema}}.service_secrets (
  name text PRIMARY KEY,
  value text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A new signing key is published at once but signs only from signs_from, so every verifier has
-- fetched it before it meets a token it signed. The previous key retires at that moment.
ALTER TABLE {{schema}}.signing_keys ADD COLUMN signs_from timestamptz;
UPDATE {{schema}}.signing_keys SET signs_from = created_at WHERE signs_from IS NULL;
ALTER TABLE {{schema}}.signing_keys ALTER COLUMN signs_from SET DEFAULT now();
ALTER TABLE {{schema}}.signing_keys ALTER COLUMN signs_from SET NOT NULL;

-- When a session (a refresh-token family) was last refreshed, for GET /v1/me/sessions.
ALTER TABLE {{schema}}.refresh_token_families ADD COLUMN last_used_at timestamptz;
