-- The knowledge base's word counts (issue 18, server/store/kb.py's search). Full-text search
-- weighs each question word by its rarity among the brand's chunks in a language (BM25's idf:
-- the number of chunks, and the number holding the word). Counting both through the GIN
-- index on every search was most of its cost at 100,000 chunks (a sequential scan for the
-- total, a bitmap scan per word). Triggers keep the counts as chunks come and go, so every
-- writer (the editor, an import, a brand's deletion) keeps them alike; search reads a few
-- rows by key instead. Existing chunks are counted below.
CREATE TABLE kb_chunk_counts (
    brand_id  uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    language  text NOT NULL,
    chunks    integer NOT NULL,
    PRIMARY KEY (brand_id, language)
);

CREATE TABLE kb_lexemes (
    brand_id  uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    language  text NOT NULL,
    lexeme    text NOT NULL,  -- as the chunk's tsvector holds it (stemmed in its configuration)
    chunks    integer NOT NULL,  -- the brand's chunks in the language that hold it
    PRIMARY KEY (brand_id, language, lexeme)
);

-- Statement-level, over the transition tables: an article's chunks are written in one
-- statement (server/store/kb.py's replace_chunks), so a save adds its words once, not row by
-- row. Concurrent saves in one brand would update the same rows in different orders and
-- could deadlock: a transaction lock per brand, taken in brand order, puts them in line
-- (saves are rare next to searches, which take no lock).
CREATE FUNCTION kb_lexemes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('kb_lexemes ' || brand_id::text, 0))
           FROM (SELECT DISTINCT brand_id FROM old_chunks ORDER BY 1) b;
        UPDATE kb_chunk_counts k SET chunks = k.chunks - o.n
          FROM (SELECT brand_id, language, count(*) AS n FROM old_chunks GROUP BY 1, 2) o
         WHERE k.brand_id = o.brand_id AND k.language = o.language;
        UPDATE kb_lexemes k SET chunks = k.chunks - o.n
          FROM (SELECT c.brand_id, c.language, w.lexeme, count(*) AS n
                  FROM old_chunks c, unnest(c.words) w GROUP BY 1, 2, 3) o
         WHERE k.brand_id = o.brand_id AND k.language = o.language AND k.lexeme = o.lexeme;
        DELETE FROM kb_lexemes k
         USING (SELECT DISTINCT c.brand_id, c.language, w.lexeme
                  FROM old_chunks c, unnest(c.words) w) o
         WHERE k.brand_id = o.brand_id AND k.language = o.language AND k.lexeme = o.lexeme
           AND k.chunks <= 0;
        DELETE FROM kb_chunk_counts WHERE chunks <= 0;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('kb_lexemes ' || brand_id::text, 0))
           FROM (SELECT DISTINCT brand_id FROM new_chunks ORDER BY 1) b;
        INSERT INTO kb_chunk_counts AS k (brand_id, language, chunks)
        SELECT brand_id, language, count(*) FROM new_chunks GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (brand_id, language) DO UPDATE SET chunks = k.chunks + excluded.chunks;
        INSERT INTO kb_lexemes AS k (brand_id, language, lexeme, chunks)
        SELECT c.brand_id, c.language, w.lexeme, count(*)
          FROM new_chunks c, unnest(c.words) w GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
            ON CONFLICT (brand_id, language, lexeme) DO UPDATE SET chunks = k.chunks + excluded.chunks;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER kb_lexemes_insert AFTER INSERT ON kb_chunks
    REFERENCING NEW TABLE AS new_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION kb_lexemes_count();
CREATE TRIGGER kb_lexemes_delete AFTER DELETE ON kb_chunks
    REFERENCING OLD TABLE AS old_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION kb_lexemes_count();
CREATE TRIGGER kb_lexemes_update AFTER UPDATE ON kb_chunks
    REFERENCING OLD TABLE AS old_chunks NEW TABLE AS new_chunks
    FOR EACH STATEMENT EXECUTE FUNCTION kb_lexemes_count();

INSERT INTO kb_chunk_counts (brand_id, language, chunks)
SELECT brand_id, language, count(*) FROM kb_chunks GROUP BY 1, 2;
INSERT INTO kb_lexemes (brand_id, language, lexeme, chunks)
SELECT c.brand_id, c.language, w.lexeme, count(*)
  FROM kb_chunks c, unnest(c.words) w GROUP BY 1, 2, 3;
