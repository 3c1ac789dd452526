-- Statements read an account's entries by time.
CREATE INDEX IF NOT EXISTS entries_account_time ON {{schema}}.entries (account_id, created_at);
