-- Only the vectors the suggestions search can return are in its HNSW index (issue 14).
--
-- Suggested replies (server/store/embeddings.py, similar_replies) look for customer messages
-- an agent answered, in resolved conversations. Every customer message was inserted into the
-- HNSW index as it was embedded, answered or not: on a web-chat burst that insert was the
-- largest single cost in PostgreSQL (bench/cost.py at 300 msg/s: about 1.6 ms of the 2.7 ms
-- of statement time a message took, for messages no agent will ever answer, since the bot
-- contains them). Now a vector is stored at once, unindexed (the knowledge-base gaps read
-- open conversations' vectors by message id and need no index), and enters the index when
-- its conversation is resolved and an agent reply followed it: the `answered` flag and the
-- partial index below. The search asks for `answered`, so it sees exactly what it saw before:
-- its join to the next agent reply in a resolved conversation dropped every other row.
ALTER TABLE message_embeddings ADD COLUMN answered boolean NOT NULL DEFAULT false;

UPDATE message_embeddings e
   SET answered = true
  FROM messages m
  JOIN conversations c ON c.id = m.conversation_id
 WHERE m.id = e.message_id
   AND c.status = 'resolved'
   AND EXISTS (SELECT 1 FROM messages r
                WHERE r.conversation_id = m.conversation_id AND r.seq > m.seq
                  AND r.author_kind = 'agent' AND r.text <> '');

DROP INDEX message_embeddings_nearest;
CREATE INDEX message_embeddings_nearest ON message_embeddings
    USING hnsw (embedding vector_cosine_ops) WHERE answered;

-- A conversation resolved: its customer messages that an agent reply followed join the index.
-- Conversations change status rarely beside the messages they carry, so the index's cost now
-- falls once per answered message, in the resolving transaction. A vector committed while its
-- conversation's resolution commits (the embedder lagging behind an agent's reply and the
-- resolution both) is not seen by either side and stays out of the search until the
-- conversation is resolved again; the embedder runs milliseconds behind the messages, so this
-- needs a backlog of minutes.
CREATE FUNCTION message_embeddings_answered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
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

CREATE TRIGGER message_embeddings_answered AFTER UPDATE OF status ON conversations
    FOR EACH ROW WHEN (NEW.status = 'resolved' AND OLD.status IS DISTINCT FROM 'resolved')
    EXECUTE FUNCTION message_embeddings_answered();
