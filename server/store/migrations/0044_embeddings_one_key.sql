-- A message's vector checks one foreign key, not three (issue 14).
--
-- Each row the embedder stores (one a customer message, server/store/embeddings.py) ran a
-- referential check against messages, conversations and brands, and each check locks the
-- row it finds (FOR KEY SHARE): one WAL record for the message's row and one for its
-- conversation's (the conversation was updated since it was last locked, so the lock is new
-- every time; pg_waldump over a bench window: 2.9 conversation row locks a web-chat message,
-- one of them this). The conversation and brand keys add nothing the message's key does not
-- give: a vector's conversation and brand are its message's, and deleting either deletes
-- the message (ON DELETE CASCADE), which deletes the vector through the key that stays.
ALTER TABLE message_embeddings
    DROP CONSTRAINT message_embeddings_conversation_id_fkey,
    DROP CONSTRAINT message_embeddings_brand_id_fkey;
