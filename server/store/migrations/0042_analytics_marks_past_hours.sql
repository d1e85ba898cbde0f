-- A conversation marks its hour for the roll-ups' refold only when that hour may be folded
-- already (issue 14).
--
-- analytics_mark_conversation appended the conversation's hour to analytics_stale when it
-- was opened and at each change of status, team, agent, band... (four times a mail in
-- bench/mail.py: opened, handed off, placed, assigned), and on a change of its keys also
-- scanned its messages and breaches for their hours; a change of its facts marked the hour
-- once more (handed off, assigned). None of it is needed for a conversation created in the
-- hour the writing transaction started in, as every live one is: the watermark never passes
-- the hour a running transaction started in (server/store/analytics_rollups.py, HORIZON), so
-- that hour and every later one (its messages' and its breaches' hours, which come after its
-- creation) are folded only after this transaction ends, from the facts as it left them;
-- until then a report reads them from the facts. Migration 0034's message mark already
-- works this way. A conversation created before the current hour (one an hour old, an
-- import) still marks, as before; a deletion always does.
DROP TRIGGER analytics_mark_new ON conversations;
CREATE TRIGGER analytics_mark_new AFTER INSERT ON conversations
    FOR EACH ROW WHEN (NEW.created_at < date_trunc('hour', now(), 'UTC'))
    EXECUTE FUNCTION analytics_mark_conversation();

DROP TRIGGER analytics_mark_change ON conversations;
CREATE TRIGGER analytics_mark_change
    AFTER UPDATE OF status, team_id, assignee_id, previous_agent_id, intent, language, band,
                    handoff_at, handoff_reason, resolved_at, bot_fallbacks
    ON conversations FOR EACH ROW
    WHEN (NEW.created_at < date_trunc('hour', now(), 'UTC')
          AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.team_id IS DISTINCT FROM NEW.team_id
          OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
          OR OLD.previous_agent_id IS DISTINCT FROM NEW.previous_agent_id
          OR OLD.intent IS DISTINCT FROM NEW.intent OR OLD.language IS DISTINCT FROM NEW.language
          OR OLD.band IS DISTINCT FROM NEW.band OR OLD.handoff_at IS DISTINCT FROM NEW.handoff_at
          OR OLD.handoff_reason IS DISTINCT FROM NEW.handoff_reason
          OR OLD.resolved_at IS DISTINCT FROM NEW.resolved_at
          OR (OLD.bot_fallbacks > 0) <> (NEW.bot_fallbacks > 0)))
    EXECUTE FUNCTION analytics_mark_conversation();

-- A fact, a rating, an article use or outcome: its conversation's hour, under the same rule
-- (the conversation is read for its brand anyway).
CREATE OR REPLACE FUNCTION analytics_mark_of_conversation() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    conversation uuid;
BEGIN
    IF TG_OP = 'DELETE' THEN
        conversation := OLD.conversation_id;
    ELSE
        conversation := NEW.conversation_id;
    END IF;
    INSERT INTO analytics_stale
    SELECT c.brand_id, date_trunc('hour', c.created_at, 'UTC')
      FROM conversations c
     WHERE c.id = conversation AND c.created_at < date_trunc('hour', now(), 'UTC');
    RETURN NULL;
END $$;
