-- Resuming from an event id without skipping an event that committed later with a lower id
-- (issue 21; the reasoning is in server/store/event_log.py).
--
-- tx: the transaction that wrote the event. snapshot: the snapshot its INSERT ran in, i.e.
-- which transactions had committed by then (pg_current_snapshot: xmin, xmax and the ones
-- in progress; a few dozen bytes). Both are 64-bit transaction ids (xid8: no wraparound).
--
-- Rows written before this migration keep NULLs: a client resuming from such an id replays
-- by id alone, as before. Adding the columns without a default rewrites nothing; the
-- defaults apply to new rows only.
ALTER TABLE events ADD COLUMN tx xid8, ADD COLUMN snapshot pg_snapshot;
ALTER TABLE events
    ALTER COLUMN tx SET DEFAULT pg_current_xact_id(),
    ALTER COLUMN snapshot SET DEFAULT pg_current_snapshot();
-- The late events of a resume: those of transactions not yet committed in a snapshot, all at
-- or above its xmin.
CREATE INDEX events_tx ON events (tx);
