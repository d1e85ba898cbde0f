-- Suggested replies (issue 16): an embedding of each customer message, so the console can
-- find the agent replies that resolved similar past conversations. 256 dimensions: the
-- WordLlama vectors nlu/embedding.py already loads (the choice and its figures are in
-- docs/suggestions.md). ``model`` names what made the vector, so a change of model re-embeds
-- rather than mixing spaces. brand_id is copied from the conversation so the nearest-first
-- scan can drop other brands' rows without a join.
CREATE TABLE message_embeddings (
    message_id      bigint PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    brand_id        uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    model           text NOT NULL,
    embedding       vector(256) NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
-- Cosine distance (<=>), nearest first. pgvector's defaults (m 16, ef_construction 64).
CREATE INDEX message_embeddings_nearest ON message_embeddings
    USING hnsw (embedding vector_cosine_ops);
CREATE INDEX message_embeddings_conversation ON message_embeddings (conversation_id);

-- A message whose text changes (an erasure's tombstone, docs/privacy.md) loses its vector
-- in the same transaction: a vector says enough about a text to be erased with it. The
-- embedding worker sees the message as pending again and embeds the tombstone.
CREATE FUNCTION message_embeddings_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM message_embeddings WHERE message_id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER message_embeddings_forget AFTER UPDATE OF text ON messages
    FOR EACH ROW WHEN (OLD.text IS DISTINCT FROM NEW.text)
    EXECUTE FUNCTION message_embeddings_forget();
