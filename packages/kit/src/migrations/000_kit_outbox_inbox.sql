-- Every service that publishes or consumes events has these two tables in its own schema.
CREATE TABLE IF NOT EXISTS {{schema}}.outbox (
  id bigserial PRIMARY KEY,
  event jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS {{schema}}.inbox (
  event_id uuid PRIMARY KEY,
  processed_at timestamptz NOT NULL DEFAULT now()
);
