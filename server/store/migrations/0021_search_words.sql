-- Search over messages reads each message's words from the row (issue 16's search p99).
-- Migration 0014 indexed the expression to_tsvector('simple', text): the GIN index finds the
-- matches, but the newest-first plan Postgres picks for a first page (walk the messages by
-- id, backwards, and keep those that match, until 51) must compute to_tsvector again for
-- every message it walks past; a word in 0.4% of 1,000,000 messages cost 400-600 ms so.
-- Stored, the words are computed once, at insert (and again if the text is ever changed,
-- as erasure does), and checking a row is a cheap comparison: that plan then takes tens of
-- ms. Same 'simple' configuration, so what matches is unchanged.
ALTER TABLE messages
    ADD COLUMN words tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED;
DROP INDEX messages_search;
CREATE INDEX messages_search ON messages USING gin (words);
