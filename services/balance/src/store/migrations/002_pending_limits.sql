-- Holds and account limits. The posted balance stays in `available` (the column's name predates
-- holds; the API's available is derived: posted − pending + overdraft limit).
-- Reserved by pending holds (present since 001; kept here so the migration stands on its own).
ALTER TABLE {{schema}}.balances ADD COLUMN IF NOT EXISTS pending bigint NOT NULL DEFAULT 0;
-- How far below zero the account may go; 9223372036854775807 (unbounded) for settlement accounts.
-- 0 until the account.opened or an account.limits_changed says otherwise.
ALTER TABLE {{schema}}.balances ADD COLUMN IF NOT EXISTS overdraft_limit bigint NOT NULL DEFAULT 0 CHECK (overdraft_limit >= 0);
-- When the limit held was set (the limits change's changedAt, or the opening's createdAt): an older
-- change arriving late does not overwrite a newer one. Null while no event has said.
ALTER TABLE {{schema}}.balances ADD COLUMN IF NOT EXISTS limits_changed_at timestamptz;
-- Bumped by every change of the row, always above its sequence: the cached copy's version. Existing
-- rows start at sequence + 1, since copies cached before carry the sequence as their version and the
-- next write must replace them.
ALTER TABLE {{schema}}.balances ADD COLUMN IF NOT EXISTS revision bigint NOT NULL DEFAULT 0 CHECK (revision >= 0);
UPDATE {{schema}}.balances SET revision = sequence + 1;
-- A limits change may come before the account's opening and its first entry: no currency yet.
ALTER TABLE {{schema}}.balances ALTER COLUMN currency DROP NOT NULL;

-- The reservation's change and the reservation after each entry; null on entries applied before.
ALTER TABLE {{schema}}.entries ADD COLUMN IF NOT EXISTS pending_amount bigint;
ALTER TABLE {{schema}}.entries ADD COLUMN IF NOT EXISTS pending_after bigint;
