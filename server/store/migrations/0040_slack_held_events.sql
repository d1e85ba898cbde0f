-- Slack events as the Events API posted them (signed, checked), kept from the acknowledgement
-- until they are read as messages, then deleted. Keyed by Slack's event_id, so a retried event
-- is kept once; seq keeps the order they came in. (0040, not the next free number: other
-- migrations were being written beside this one.)
CREATE TABLE slack_held_events (
    event_id    text PRIMARY KEY,
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    body        bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX slack_held_events_seq ON slack_held_events (seq);
