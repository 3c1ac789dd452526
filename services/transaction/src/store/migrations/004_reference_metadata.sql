-- A client's reference and free metadata on every transfer; transfers are found by reference.
ALTER TABLE {{schema}}.transfers ADD COLUMN IF NOT EXISTS reference text;
ALTER TABLE {{schema}}.transfers ADD COLUMN IF NOT EXISTS metadata json NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS transfers_reference ON {{schema}}.transfers (reference) WHERE reference IS NOT NULL;
