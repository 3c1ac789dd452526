-- The limits tier of the transfer policy, set by operators (PUT /v1/accounts/{id}/limits).
-- Existing accounts get the default tier; the pattern is the contracts' Tier schema.
ALTER TABLE {{schema}}.accounts
  ADD COLUMN IF NOT EXISTS tier text NOT NULL DEFAULT 'standard' CHECK (tier ~ '^[a-z][a-z0-9_-]{0,31}$');
