-- A vector and its conversation's resolution, committed at the same moment, no longer miss
-- each other (a suggested reply lost; CI saw it once in the suggestions' browser test).
--
-- Migration 0037 sets `answered` from both sides: the embedder's insert when the conversation
-- is already resolved, the resolution's trigger for vectors already stored. Under READ
-- COMMITTED each side reads a snapshot that cannot see the other's uncommitted row, so a
-- vector inserted while the resolution commits stayed out of the search for good. Both sides
-- now take an advisory lock per brand, the embedder's shared (its batches run side by side),
-- the resolution's exclusive: whichever comes second waits for the first to commit, and its
-- next statement reads a snapshot that sees it (each statement of a volatile PL/pgSQL
-- function takes its own). One key per brand, not per conversation: a transaction that
-- resolves several conversations (an erasure) then needs one key. A batch's insert waits on
-- the message rows another transaction updates by their keys (its foreign key's share lock),
-- so a transaction that does both (an erasure: messages anonymised, then the open
-- conversations resolved) takes the lock before its first message row
-- (server/store/privacy.py, anonymise_conversations), or it would wait for a batch that waits
-- for it. Resolutions are rare beside the messages; the embedder's batches commit without
-- waiting for the WAL flush, so the wait either way is a few milliseconds.
CREATE FUNCTION message_embeddings_lock(brand uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT hashtextextended('message_embeddings ' || brand::text, 0)
$$;

CREATE OR REPLACE FUNCTION message_embeddings_answered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(message_embeddings_lock(NEW.brand_id));
    UPDATE message_embeddings e
       SET answered = true
      FROM messages m
     WHERE e.conversation_id = NEW.id AND NOT e.answered
       AND m.id = e.message_id
       AND EXISTS (SELECT 1 FROM messages r
                    WHERE r.conversation_id = NEW.id AND r.seq > m.seq
                      AND r.author_kind = 'agent' AND r.text <> '');
    RETURN NULL;
END $$;

-- The vectors the race left out before this migration.
UPDATE message_embeddings e
   SET answered = true
  FROM messages m
  JOIN conversations c ON c.id = m.conversation_id
 WHERE m.id = e.message_id AND NOT e.answered
   AND c.status = 'resolved'
   AND EXISTS (SELECT 1 FROM messages r
                WHERE r.conversation_id = m.conversation_id AND r.seq > m.seq
                  AND r.author_kind = 'agent' AND r.text <> '');
