-- The console's search finds customers by name or address too, and lists their
-- conversations newest first (issue 16's search p99). Nothing indexed conversations by
-- contact, so even a name that matches one customer read every conversation (100,000 in
-- bench/search.py: ~120 ms); and a word in many customers' names ('Maria') joined all their
-- conversations and sorted them to keep 50 (~260 ms). With these two indexes Postgres takes a
-- rare name's conversations straight from its contacts, and walks the conversations newest
-- first for a common one, stopping at the 50th match: about 1-2 ms either way. The contact
-- index also serves the context panel's "previous conversations" and the privacy exports.
CREATE INDEX conversations_by_contact ON conversations (contact_id);
CREATE INDEX conversations_by_activity ON conversations (last_message_at DESC NULLS LAST);
