-- Every customer message's UPDATE of its conversation (last_seq, last_message_at, updated_at:
-- server/store/appends.py) a HOT update again (issue 14).
--
-- last_message_at was in two indexes (conversations_by_status, conversations_by_activity),
-- so each message's update wrote a new row version into every one of the conversation's
-- indexes: eleven index entries a message for a queued conversation (pkey, one_open,
-- labels' GIN, by_contact, brand_created, queue, queued_by_brand, unanswered, reply_token,
-- by_status, by_activity), a third of the web chat's WAL records (pg_waldump over a
-- bench.cost window: 37.4 records a message, 12 of them the conversation's update). A HOT
-- update writes the heap record alone.
--
-- 1. conversations_by_status (status, last_message_at DESC): nothing reads it in
--    last_message_at's order (the console's list orders by coalesce(last_message_at,
--    created_at), id, which it cannot give); the reads by status keep an index on status.
-- 2. conversations_by_activity (last_message_at DESC NULLS LAST) lets the console's search
--    walk conversations newest first and stop at a page of a common name's (migration
--    0022). It now indexes the hour of the last message, a stored column that changes once an
--    hour at most while the conversation is busy (an UPDATE that writes an indexed column's
--    same value stays HOT), and the search orders by that hour, then by last_message_at
--    within it (an incremental sort: the same order as before, still stopping early).

-- Room on each page for the updated versions, so a HOT update finds it there (pruning
-- then reclaims the old ones). Set before the column is added: adding a stored column
-- rewrites the table, and the rewrite then leaves that room on every existing page too,
-- so a conversation's first update after the migration is HOT as well. The rewrite holds
-- an ACCESS EXCLUSIVE lock (16 s at 1,000,000 conversations): ingest waits meanwhile.
ALTER TABLE conversations SET (fillfactor = 90);

ALTER TABLE conversations ADD COLUMN active_hour timestamptz
    GENERATED ALWAYS AS (date_trunc('hour', last_message_at, 'UTC')) STORED;

DROP INDEX conversations_by_activity;
CREATE INDEX conversations_by_activity ON conversations (active_hour DESC NULLS LAST);

DROP INDEX conversations_by_status;
CREATE INDEX conversations_by_status ON conversations (status);

