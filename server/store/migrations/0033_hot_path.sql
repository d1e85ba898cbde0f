-- The message path's triggers, cheaper (issue 14). Measured with bench/cost.py and 5,000-row
-- inserts on this 2-core machine: 0025's messages_words trigger took 70-110 us of PostgreSQL
-- CPU a row (an insert without it: 15-25 us), and it ran twice per customer message, at the
-- insert and again when the NLU's UPDATE wrote the message's language (about 250 us a
-- message in all, a sixth of PostgreSQL's share of the web chat).
--
-- 1. Why it was slow: its one expression held the sub-select of the conversation's language,
--    so PL/pgSQL could not take its "simple expression" fast path and started a full
--    executor for every row; search_config and search_words ran as separate SQL-function
--    calls inside it. The look-up is now a statement of its own, run only when the message
--    has no language, and the words an expression on their own: the same words, written
--    3-4 times faster (5,000 rows: 490-560 ms before, 140-165 ms after).
-- 2. An UPDATE stems again only when the text or the language actually changed. The NLU
--    writes every customer message's language, usually the NULL it already had ("ok",
--    "10234": too short to tell): UPDATE OF fired the trigger for each of them anyway.
CREATE OR REPLACE FUNCTION messages_words() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    lang text := NEW.language;
BEGIN
    IF lang IS NULL THEN
        SELECT language INTO lang FROM conversations WHERE id = NEW.conversation_id;
    END IF;
    NEW.words := search_words(search_config(lang), NEW.text);
    RETURN NEW;
END $$;

DROP TRIGGER messages_words ON messages;
CREATE TRIGGER messages_words BEFORE INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION messages_words();
CREATE TRIGGER messages_words_changed BEFORE UPDATE OF text, language ON messages
    FOR EACH ROW WHEN (OLD.text IS DISTINCT FROM NEW.text
                       OR OLD.language IS DISTINCT FROM NEW.language)
    EXECUTE FUNCTION messages_words();
