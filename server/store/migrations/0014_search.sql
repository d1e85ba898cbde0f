-- Full-text search in the console (issue 16): customers' and agents' words, and contacts'
-- names and addresses. The 'simple' configuration (no stemming) matches words in every
-- language the brands speak alike; an index per brand language can follow.
CREATE INDEX messages_search ON messages USING gin (to_tsvector('simple', text));
CREATE INDEX contacts_search ON contacts
    USING gin (to_tsvector('simple', coalesce(name, '') || ' ' || coalesce(email, '')));
