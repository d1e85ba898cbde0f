-- Search in each message's language (issue 16): "orders" finds "order", "livraisons" finds
-- "livraison". Until now every message's words were in the 'simple' configuration (0021: no
-- stemming, no stop words). Now each message's words are stemmed in the text-search
-- configuration of its language: english for en, french for fr, simple for any other (no
-- stemmer would be better than the wrong one). Brands have no language of their own: a brand
-- serves customers in en and fr alike, so the language is the message's.
--
-- Whose language: the customer's messages get theirs from the NLU (set by an UPDATE after the
-- insert, which stems them again); agents', the bot's and system messages have none, and take
-- their conversation's (which the NLU keeps up to date), as do customer messages too short
-- for the NLU to name one.
--
-- Accents: customers write "probleme" for "problème" and the other way round, and pgserver
-- ships no unaccent extension. A message whose text has accents also carries the words of its
-- text with the accents taken off (search_fold), and a query likewise looks for both; both
-- sides stem the same form, so "telephone" finds "téléphones" and "commandee" finds
-- "commandée". Text without accents (most English) costs nothing more.
--
-- Why a trigger and not a generated column: a generated column can read only its own row,
-- and an agent's reply takes its conversation's language. The functions below are IMMUTABLE
-- (their regconfig constants are resolved when they are created), so they could also serve
-- an expression index.

CREATE FUNCTION search_config(language text) RETURNS regconfig
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    -- ISO 639-1 and -2 codes, and tags such as en-GB or fr_CA.
    RETURN CASE lower(split_part(translate(language, '_', '-'), '-', 1))
               WHEN 'en' THEN 'english'::regconfig
               WHEN 'eng' THEN 'english'::regconfig
               WHEN 'fr' THEN 'french'::regconfig
               WHEN 'fra' THEN 'french'::regconfig
               WHEN 'fre' THEN 'french'::regconfig
               ELSE 'simple'::regconfig
           END;

-- The letters of French (and the other Latin-script languages' most common) with their
-- accents, and the same letters without; one for one, so œ and æ stay as they are.
CREATE FUNCTION search_fold(words text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN translate(words,
                     'àâäáãåçéèêëíìîïñóòôöõúùûüýÿÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝŸ',
                     'aaaaaaceeeeiiiinooooouuuuyyAAAAAACEEEEIIIINOOOOOUUUUYY');

CREATE FUNCTION search_words(config regconfig, words text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN search_fold(words) = words THEN to_tsvector(config, words)
                ELSE to_tsvector(config, words) || to_tsvector(config, search_fold(words))
           END;

CREATE FUNCTION search_query(config regconfig, words text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN search_fold(words) = words THEN websearch_to_tsquery(config, words)
                ELSE websearch_to_tsquery(config, words)
                     || websearch_to_tsquery(config, search_fold(words))
           END;

CREATE FUNCTION messages_words() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.words := search_words(
        search_config(coalesce(NEW.language,
                               (SELECT language FROM conversations
                                 WHERE id = NEW.conversation_id))),
        NEW.text);
    RETURN NEW;
END $$;

-- The stored words become a plain column (keeping their values), filled by the trigger from
-- now on. The index is dropped first and built once at the end: updating a GIN index row by
-- row is several times slower than building it.
DROP INDEX messages_search;
ALTER TABLE messages ALTER COLUMN words DROP EXPRESSION;
-- Only the rows whose words change: those in english or french, and those with accents.
-- On 1,000,000 messages (bench/search.py) this migration takes about 70-80 s on a busy
-- 2-core machine, and leaves the old version of each row for autovacuum to reclaim (or run
-- VACUUM messages after it: about 10 s there). The ALTER locks the messages table until the
-- migration commits (one transaction): neither reads nor writes of messages go on meanwhile,
-- so upgrade a large deployment in a quiet hour.
UPDATE messages m
   SET words = search_words(search_config(coalesce(m.language, c.language)), m.text)
  FROM conversations c
 WHERE c.id = m.conversation_id
   AND (search_config(coalesce(m.language, c.language)) <> 'simple'::regconfig
        OR search_fold(m.text) <> m.text);
CREATE TRIGGER messages_words BEFORE INSERT OR UPDATE OF text, language ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_words();
CREATE INDEX messages_search ON messages USING gin (words);

-- Customers by name and address: still the simple configuration (a name is in no language),
-- with accents folded as in messages, so "Helene" finds "Hélène" (server/store/search.py).
DROP INDEX contacts_search;
CREATE INDEX contacts_search ON contacts
    USING gin (search_words('simple', coalesce(name, '') || ' ' || coalesce(email, '')));
