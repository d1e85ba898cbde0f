-- The reports (issue 20, server/store/analytics.py). A report reads a brand's conversations
-- created in a date range: indexed by brand and creation. Each conversation's clocks (its
-- first reply, first agent reply, first handoff and its reason, first assignment, reopened,
-- breached) are facts recorded once, when they happen, in conversation_facts: the reports
-- read one row per conversation instead of scanning its messages and activities on every
-- page load. Triggers keep the facts, so every writer (the pipeline, the console, the
-- sweeps, an import) records them alike; existing conversations are backfilled below.
CREATE INDEX conversations_brand_created ON conversations (brand_id, created_at);
CREATE INDEX kb_article_outcomes_conversation ON kb_article_outcomes (conversation_id);
-- Messages written in a range (the volume chart): messages are appended in time order, so a
-- BRIN index (a few pages for millions of rows, next to nothing to keep up) finds the range.
CREATE INDEX messages_created_brin ON messages USING brin (created_at);

CREATE TABLE conversation_facts (
    conversation_id     uuid PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    first_reply_at      timestamptz,  -- the first message of the bot or an agent
    first_agent_at      timestamptz,  -- the first message of an agent
    bot_replied         boolean NOT NULL DEFAULT false,
    handed_at           timestamptz,  -- the first handed_off activity
    handoff_reason      text,         -- its detail
    assigned_at         timestamptz,  -- the first assigned activity
    reopened            boolean NOT NULL DEFAULT false,
    frt_breached        boolean NOT NULL DEFAULT false,
    resolution_breached boolean NOT NULL DEFAULT false
);

CREATE FUNCTION conversation_facts_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conversation_facts (conversation_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_facts_open AFTER INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversation_facts_open();

-- Only a row that changes is written: once a fact is known, a later message costs one index
-- look-up and no new row version.
CREATE FUNCTION conversation_facts_reply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversation_facts
       SET first_reply_at = least(coalesce(first_reply_at, NEW.created_at), NEW.created_at),
           first_agent_at = CASE WHEN NEW.author_kind = 'agent'
                                 THEN least(coalesce(first_agent_at, NEW.created_at),
                                            NEW.created_at)
                                 ELSE first_agent_at END,
           bot_replied = bot_replied OR NEW.author_kind = 'bot'
     WHERE conversation_id = NEW.conversation_id
       AND (first_reply_at IS NULL OR first_reply_at > NEW.created_at
            OR (NEW.author_kind = 'agent'
                AND (first_agent_at IS NULL OR first_agent_at > NEW.created_at))
            OR (NEW.author_kind = 'bot' AND NOT bot_replied));
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_facts_reply AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.author_kind IN ('bot', 'agent'))
    EXECUTE FUNCTION conversation_facts_reply();

CREATE FUNCTION conversation_facts_activity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'handed_off' THEN
        UPDATE conversation_facts SET handed_at = NEW.created_at, handoff_reason = NEW.detail
         WHERE conversation_id = NEW.conversation_id
           AND (handed_at IS NULL OR handed_at > NEW.created_at);
    ELSIF NEW.kind = 'assigned' THEN
        UPDATE conversation_facts SET assigned_at = NEW.created_at
         WHERE conversation_id = NEW.conversation_id
           AND (assigned_at IS NULL OR assigned_at > NEW.created_at);
    ELSE
        UPDATE conversation_facts SET reopened = true
         WHERE conversation_id = NEW.conversation_id AND NOT reopened;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_facts_activity AFTER INSERT ON activities
    FOR EACH ROW WHEN (NEW.kind IN ('handed_off', 'assigned', 'reopened'))
    EXECUTE FUNCTION conversation_facts_activity();

CREATE FUNCTION conversation_facts_breach() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE conversation_facts
       SET frt_breached = frt_breached OR NEW.kind = 'first_response',
           resolution_breached = resolution_breached OR NEW.kind = 'resolution'
     WHERE conversation_id = NEW.conversation_id;
    RETURN NULL;
END $$;
CREATE TRIGGER conversation_facts_breach AFTER INSERT ON sla_breaches
    FOR EACH ROW EXECUTE FUNCTION conversation_facts_breach();

-- Each change of an agent's status (online, away, offline), for the reports' time online and
-- away: agents.status keeps only the current one. Recorded by a trigger, as the facts above;
-- the current statuses start the history.
CREATE TABLE agent_status_changes (
    id       bigserial PRIMARY KEY,
    agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    status   text NOT NULL,
    at       timestamptz NOT NULL
);
CREATE INDEX agent_status_changes_agent ON agent_status_changes (agent_id, at);
CREATE FUNCTION agent_status_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO agent_status_changes (agent_id, status, at)
    VALUES (NEW.id, NEW.status, NEW.status_at);
    RETURN NULL;
END $$;
CREATE TRIGGER agent_status_new AFTER INSERT ON agents
    FOR EACH ROW EXECUTE FUNCTION agent_status_change();
CREATE TRIGGER agent_status_change AFTER UPDATE OF status ON agents
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION agent_status_change();
INSERT INTO agent_status_changes (agent_id, status, at) SELECT id, status, status_at FROM agents;

-- The facts of the conversations already there, from their messages and activities.
INSERT INTO conversation_facts
SELECT c.id, m.first_reply, m.first_agent, coalesce(m.bot_replied, false),
       a.handed_at, a.reason, a.assigned_at, coalesce(a.reopened, false),
       coalesce(b.first_response, false), coalesce(b.resolution, false)
  FROM conversations c
  LEFT JOIN LATERAL (
    SELECT min(created_at) FILTER (WHERE author_kind = 'agent') AS first_agent,
           min(created_at) FILTER (WHERE author_kind IN ('bot', 'agent')) AS first_reply,
           bool_or(author_kind = 'bot') AS bot_replied
      FROM messages WHERE conversation_id = c.id) m ON true
  LEFT JOIN LATERAL (
    SELECT min(created_at) FILTER (WHERE kind = 'handed_off') AS handed_at,
           (array_agg(detail ORDER BY created_at, id)
              FILTER (WHERE kind = 'handed_off'))[1] AS reason,
           min(created_at) FILTER (WHERE kind = 'assigned') AS assigned_at,
           bool_or(kind = 'reopened') AS reopened
      FROM activities WHERE conversation_id = c.id) a ON true
  LEFT JOIN LATERAL (
    SELECT bool_or(kind = 'first_response') AS first_response,
           bool_or(kind = 'resolution') AS resolution
      FROM sla_breaches WHERE conversation_id = c.id) b ON true;
