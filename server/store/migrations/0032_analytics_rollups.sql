-- The reports' per-hour roll-ups (issue 20; server/store/analytics_rollups.py, docs/metrics.md).
--
-- A chart over a month of a busy brand read a third of a million conversations with their
-- facts, ratings and article uses, and sorted them for each median: 0.3 to 1.4 s. Roll-ups keep,
-- per brand and UTC hour, the same counts the reports add up, once for all conversations
-- ('all') and once per value of each breakdown (team, agent, channel, intent, language, band),
-- plus each duration's histogram in fixed log buckets (medians and p90 cannot be added up;
-- histograms can). A month of charts then reads about 720 rows per value instead.
--
-- How they are kept, and why so: triggers on the conversations' slow-moving parts (a new
-- conversation, a change of status, team, agent, intent, band, a fact, a rating, an article
-- use, a breach, a deletion) append the (brand, hour) they touch to analytics_stale; the node
-- holding the sweeps' lease (server/dispatch/sweeps.py) folds those hours again from the
-- facts (delete, then insert what analytics_hours_of() computes), and moves the watermark
-- analytics_fold_state.folded_until over the hours no running transaction can still write
-- into. Not a trigger that adds into the roll-up row itself: every conversation of a brand,
-- hour and channel would then update one row and hold its lock until commit, serialising the
-- pipeline's transactions behind each other, and medians could not be kept that way. Messages
-- fire nothing at all (issue 14 counts every statement per message): an hour's messages are
-- counted once its hour has passed the watermark, and again when a conversation changes
-- hands. A report reads the roll-ups for folded hours with no mark and the facts (the same
-- functions below) for the others: the hours past the watermark and the marked ones.

-- One duration's bucket: 0 for under a second, else 1 + floor(8 log2 s): eight buckets an
-- octave, each 9 % wide, so a quantile read back lies within 4.5 % of the true one.
CREATE FUNCTION analytics_bucket(seconds double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN seconds < 1 THEN 0
                ELSE (1 + floor(8 * ln(seconds) / ln(2.0)))::smallint END
$$;

-- Each conversation's values, as server/store/analytics.py's FACTS reads them, without what
-- depends on the moment of the read (a quiet bot conversation's containment: the roll-up
-- keeps those still open apart, bot_open, and the report subtracts the recent ones).
CREATE VIEW analytics_values AS
SELECT c.id, c.brand_id, c.created_at, date_trunc('hour', c.created_at, 'UTC') AS hour,
       coalesce(c.team_id::text, 'none') AS team,
       coalesce(coalesce(c.assignee_id, c.previous_agent_id)::text, 'none') AS agent,
       c.channel,
       coalesce(c.intent, 'none') AS intent,
       coalesce(c.language, 'none') AS language,
       coalesce(c.band, 'none') AS band,
       c.status, c.last_message_at,
       extract(epoch FROM f.first_agent_at - coalesce(f.handed_at, c.handoff_at))::float8
         AS frt_human,
       extract(epoch FROM f.first_reply_at - c.created_at)::float8 AS frt_any,
       extract(epoch FROM f.assigned_at - coalesce(f.handed_at, c.handoff_at))::float8 AS wait,
       CASE WHEN c.status = 'resolved'
            THEN extract(epoch FROM c.resolved_at - f.assigned_at)::float8 END AS handle,
       CASE WHEN c.status = 'resolved'
            THEN extract(epoch FROM c.resolved_at - c.created_at)::float8 END AS resolution,
       (f.handed_at IS NOT NULL OR c.handoff_at IS NOT NULL OR f.first_agent_at IS NOT NULL)
         AS handed,
       coalesce(f.handoff_reason, c.handoff_reason, 'none') AS reason,
       f.bot_replied,
       (c.bot_fallbacks > 0
        OR coalesce(f.handoff_reason, c.handoff_reason) = 'low_confidence') AS fell_back,
       (c.status = 'resolved' OR f.reopened) AS resolved_ever,
       f.reopened,
       c.band IS NOT NULL AS has_sla,
       f.frt_breached,
       f.resolution_breached,
       EXISTS (SELECT 1 FROM kb_article_uses u
                WHERE u.conversation_id = c.id AND u.kind = 'shown_by_bot') AS kb_shown,
       (SELECT count(*) FROM kb_article_outcomes o
         WHERE o.conversation_id = c.id AND o.outcome = 'resolved') AS kb_helpful,
       (SELECT count(*) FROM kb_article_outcomes o
         WHERE o.conversation_id = c.id AND o.outcome = 'not_helpful') AS kb_not_helpful,
       s.asked_at IS NOT NULL AS csat_asked, s.rating,
       s.comment IS NOT NULL AS csat_comment
  FROM conversations c
  JOIN conversation_facts f ON f.conversation_id = c.id
  LEFT JOIN csat s ON s.conversation_id = c.id;

CREATE TABLE analytics_hours (
    brand_id        uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    hour            timestamptz NOT NULL,  -- the conversations' creation hour (UTC)
    dim             text NOT NULL,         -- 'all' or a breakdown
    key             text NOT NULL,         -- 'all' or the breakdown's value
    conversations   integer NOT NULL,
    contained_settled integer NOT NULL,    -- bot alone and resolved: contained
    bot_open        integer NOT NULL,      -- bot alone, not resolved: contained once quiet
    handed          integer NOT NULL,
    bot_replied     integer NOT NULL,
    fell_back       integer NOT NULL,
    kb_answered     integer NOT NULL,
    kb_helpful      integer NOT NULL,
    kb_not_helpful  integer NOT NULL,
    resolved        integer NOT NULL,
    resolved_ever   integer NOT NULL,
    reopened        integer NOT NULL,
    csat_asked      integer NOT NULL,
    csat_answered   integer NOT NULL,
    csat_sum        integer NOT NULL,
    csat_comments   integer NOT NULL,
    with_sla        integer NOT NULL,
    frt_met         integer NOT NULL,
    resolution_met  integer NOT NULL,
    ratings         integer[] NOT NULL,    -- how many 1, 2, 3, 4, 5
    reasons         jsonb NOT NULL,        -- first handoff's reason -> conversations handed
    -- The hour before the key: a breakdown reads every key of a dimension over the range,
    -- contiguous in this order (key first, it would scan each key's whole history).
    PRIMARY KEY (brand_id, dim, hour, key)
);

-- Each duration's histogram: metric 1 frt_human, 2 frt_any, 3 resolution, 4 handle, 5 wait.
CREATE TABLE analytics_hour_durations (
    brand_id uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    hour     timestamptz NOT NULL,
    dim      text NOT NULL,
    key      text NOT NULL,
    metric   smallint NOT NULL,
    bucket   smallint NOT NULL,
    n        integer NOT NULL,
    -- n rides in the key: a month of histograms reads the index alone (about 30,000 entries
    -- for all conversations at 100,000 a quarter), not a heap page for each.
    PRIMARY KEY (brand_id, dim, hour, key, metric, bucket) INCLUDE (n)
);

-- Messages written and SLA breaches that happened in the hour, by their conversation's keys.
CREATE TABLE analytics_activity_hours (
    brand_id uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    hour     timestamptz NOT NULL,
    dim      text NOT NULL,
    key      text NOT NULL,
    messages integer NOT NULL,
    breaches integer NOT NULL,
    PRIMARY KEY (brand_id, dim, hour, key)
);

-- Hours to fold again: appended by the triggers below, taken by the fold. No key: an append
-- never waits on another transaction's mark of the same hour.
CREATE TABLE analytics_stale (
    brand_id uuid NOT NULL,
    hour     timestamptz NOT NULL
);
CREATE INDEX analytics_stale_hour ON analytics_stale (brand_id, hour);

-- Every hour before folded_until has been folded once; later ones are read from the facts.
CREATE TABLE analytics_fold_state (
    only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    folded_until timestamptz NOT NULL
);

-- The roll-up rows of the conversations of a brand (every brand when NULL) created in
-- [p_from, p_to); also what a report reads for hours not folded.
CREATE FUNCTION analytics_hours_of(p_brand uuid, p_from timestamptz, p_to timestamptz)
RETURNS SETOF analytics_hours LANGUAGE sql STABLE AS $$
    SELECT v.brand_id, v.hour, d.dim, d.key,
           count(*)::int,
           count(*) FILTER (WHERE NOT v.handed AND v.bot_replied AND v.status = 'resolved')::int,
           count(*) FILTER (WHERE NOT v.handed AND v.bot_replied AND v.status <> 'resolved')::int,
           count(*) FILTER (WHERE v.handed)::int,
           count(*) FILTER (WHERE v.bot_replied)::int,
           count(*) FILTER (WHERE v.bot_replied AND v.fell_back)::int,
           count(*) FILTER (WHERE v.bot_replied AND v.kb_shown)::int,
           coalesce(sum(v.kb_helpful), 0)::int,
           coalesce(sum(v.kb_not_helpful), 0)::int,
           count(*) FILTER (WHERE v.status = 'resolved')::int,
           count(*) FILTER (WHERE v.resolved_ever)::int,
           count(*) FILTER (WHERE v.reopened)::int,
           count(*) FILTER (WHERE v.csat_asked)::int,
           count(v.rating)::int,
           coalesce(sum(v.rating), 0)::int,
           count(*) FILTER (WHERE v.rating IS NOT NULL AND v.csat_comment)::int,
           count(*) FILTER (WHERE v.has_sla)::int,
           count(*) FILTER (WHERE v.has_sla AND NOT v.frt_breached)::int,
           count(*) FILTER (WHERE v.has_sla AND NOT v.resolution_breached)::int,
           ARRAY[count(*) FILTER (WHERE v.rating = 1), count(*) FILTER (WHERE v.rating = 2),
                 count(*) FILTER (WHERE v.rating = 3), count(*) FILTER (WHERE v.rating = 4),
                 count(*) FILTER (WHERE v.rating = 5)]::int[],
           coalesce((SELECT jsonb_object_agg(r, n) FROM (
                       SELECT r, count(*) AS n
                         FROM unnest(array_agg(v.reason) FILTER (WHERE v.handed)) r
                        GROUP BY r) x), '{}'::jsonb)
      FROM analytics_values v
      CROSS JOIN LATERAL (VALUES ('all', 'all'), ('team', v.team), ('agent', v.agent),
                                 ('channel', v.channel), ('intent', v.intent),
                                 ('language', v.language), ('band', v.band)) d(dim, key)
     WHERE (p_brand IS NULL OR v.brand_id = p_brand)
       AND v.created_at >= p_from AND v.created_at < p_to
     GROUP BY v.brand_id, v.hour, d.dim, d.key
$$;

CREATE FUNCTION analytics_durations_of(p_brand uuid, p_from timestamptz, p_to timestamptz)
RETURNS SETOF analytics_hour_durations LANGUAGE sql STABLE AS $$
    SELECT v.brand_id, v.hour, d.dim, d.key, m.metric, analytics_bucket(m.seconds), count(*)::int
      FROM analytics_values v
      CROSS JOIN LATERAL (VALUES ('all', 'all'), ('team', v.team), ('agent', v.agent),
                                 ('channel', v.channel), ('intent', v.intent),
                                 ('language', v.language), ('band', v.band)) d(dim, key)
      CROSS JOIN LATERAL (VALUES (1::smallint, v.frt_human), (2::smallint, v.frt_any),
                                 (3::smallint, v.resolution), (4::smallint, v.handle),
                                 (5::smallint, v.wait)) m(metric, seconds)
     WHERE (p_brand IS NULL OR v.brand_id = p_brand)
       AND v.created_at >= p_from AND v.created_at < p_to
       AND m.seconds IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5, 6
$$;

CREATE FUNCTION analytics_activity_of(p_brand uuid, p_from timestamptz, p_to timestamptz)
RETURNS SETOF analytics_activity_hours LANGUAGE sql STABLE AS $$
    SELECT c.brand_id, date_trunc('hour', x.at, 'UTC'), d.dim, d.key,
           count(*) FILTER (WHERE x.what = 'm')::int, count(*) FILTER (WHERE x.what = 'b')::int
      FROM (SELECT m.conversation_id, m.created_at AS at, 'm' AS what FROM messages m
             WHERE m.created_at >= p_from AND m.created_at < p_to
            UNION ALL
            SELECT s.conversation_id, s.breached_at, 'b' FROM sla_breaches s
             WHERE s.breached_at >= p_from AND s.breached_at < p_to) x
      JOIN conversations c ON c.id = x.conversation_id
      CROSS JOIN LATERAL (
        VALUES ('all', 'all'), ('team', coalesce(c.team_id::text, 'none')),
               ('agent', coalesce(coalesce(c.assignee_id, c.previous_agent_id)::text, 'none')),
               ('channel', c.channel), ('intent', coalesce(c.intent, 'none')),
               ('language', coalesce(c.language, 'none')), ('band', coalesce(c.band, 'none'))
      ) d(dim, key)
     WHERE p_brand IS NULL OR c.brand_id = p_brand
     GROUP BY 1, 2, 3, 4
$$;

-- Fold [p_from, p_to) again for a brand (every brand when NULL): whole hours only. PL/pgSQL
-- plans each branch for what it is given: one brand's hour reads its indexes (brand, dim,
-- hour; brand, created_at), every brand's range (the backfill) scans once.
CREATE FUNCTION analytics_fold(p_brand uuid, p_from timestamptz, p_to timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    dims text[] := ARRAY['all', 'team', 'agent', 'channel', 'intent', 'language', 'band'];
BEGIN
    IF p_brand IS NULL THEN
        DELETE FROM analytics_hours WHERE hour >= p_from AND hour < p_to;
        DELETE FROM analytics_hour_durations WHERE hour >= p_from AND hour < p_to;
        DELETE FROM analytics_activity_hours WHERE hour >= p_from AND hour < p_to;
        INSERT INTO analytics_hours SELECT * FROM analytics_hours_of(NULL, p_from, p_to);
        INSERT INTO analytics_hour_durations SELECT * FROM analytics_durations_of(NULL, p_from, p_to);
        INSERT INTO analytics_activity_hours SELECT * FROM analytics_activity_of(NULL, p_from, p_to);
        RETURN;
    END IF;
    DELETE FROM analytics_hours
     WHERE brand_id = p_brand AND dim = ANY(dims) AND hour >= p_from AND hour < p_to;
    DELETE FROM analytics_hour_durations
     WHERE brand_id = p_brand AND dim = ANY(dims) AND hour >= p_from AND hour < p_to;
    DELETE FROM analytics_activity_hours
     WHERE brand_id = p_brand AND dim = ANY(dims) AND hour >= p_from AND hour < p_to;
    INSERT INTO analytics_hours SELECT * FROM analytics_hours_of(p_brand, p_from, p_to);
    INSERT INTO analytics_hour_durations SELECT * FROM analytics_durations_of(p_brand, p_from, p_to);
    INSERT INTO analytics_activity_hours SELECT * FROM analytics_activity_of(p_brand, p_from, p_to);
END $$;

-- The marks. Each fires a few times in a conversation's life, never per message.
CREATE FUNCTION analytics_mark(p_brand uuid, p_at timestamptz) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO analytics_stale VALUES (p_brand, date_trunc('hour', p_at, 'UTC'))
$$;

-- A conversation's own hour, and with a change of its keys every hour it has messages or
-- breaches in (those are counted under its keys).
CREATE FUNCTION analytics_mark_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c conversations%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN
        c := OLD;
    ELSE
        c := NEW;
    END IF;
    PERFORM analytics_mark(c.brand_id, c.created_at);
    IF TG_OP = 'DELETE' THEN
        -- Its messages and breaches are going with it: every hour of its life.
        INSERT INTO analytics_stale
        SELECT c.brand_id, h FROM generate_series(
            date_trunc('hour', c.created_at, 'UTC'),
            greatest(c.created_at, c.last_message_at, c.resolved_at, c.updated_at),
            interval '1 hour') h;
    ELSIF TG_OP = 'UPDATE' AND (OLD.team_id IS DISTINCT FROM NEW.team_id
          OR coalesce(OLD.assignee_id, OLD.previous_agent_id)
             IS DISTINCT FROM coalesce(NEW.assignee_id, NEW.previous_agent_id)
          OR OLD.intent IS DISTINCT FROM NEW.intent OR OLD.language IS DISTINCT FROM NEW.language
          OR OLD.band IS DISTINCT FROM NEW.band) THEN
        INSERT INTO analytics_stale
        SELECT DISTINCT NEW.brand_id, date_trunc('hour', m.created_at, 'UTC')
          FROM messages m WHERE m.conversation_id = NEW.id
        UNION
        SELECT NEW.brand_id, date_trunc('hour', s.breached_at, 'UTC')
          FROM sla_breaches s WHERE s.conversation_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_mark_new AFTER INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION analytics_mark_conversation();
CREATE TRIGGER analytics_mark_gone AFTER DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION analytics_mark_conversation();
-- UPDATE OF: the per-message update (last_seq, last_message_at) never even evaluates it.
CREATE TRIGGER analytics_mark_change
    AFTER UPDATE OF status, team_id, assignee_id, previous_agent_id, intent, language, band,
                    handoff_at, handoff_reason, resolved_at, bot_fallbacks
    ON conversations FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.team_id IS DISTINCT FROM NEW.team_id
          OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
          OR OLD.previous_agent_id IS DISTINCT FROM NEW.previous_agent_id
          OR OLD.intent IS DISTINCT FROM NEW.intent OR OLD.language IS DISTINCT FROM NEW.language
          OR OLD.band IS DISTINCT FROM NEW.band OR OLD.handoff_at IS DISTINCT FROM NEW.handoff_at
          OR OLD.handoff_reason IS DISTINCT FROM NEW.handoff_reason
          OR OLD.resolved_at IS DISTINCT FROM NEW.resolved_at
          OR (OLD.bot_fallbacks > 0) <> (NEW.bot_fallbacks > 0))
    EXECUTE FUNCTION analytics_mark_conversation();

-- A fact, a rating, an article use or outcome of a conversation: its hour.
CREATE FUNCTION analytics_mark_of_conversation() RETURNS trigger LANGUAGE plpgsql AS $$
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
      FROM conversations c WHERE c.id = conversation;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_mark_fact AFTER UPDATE ON conversation_facts
    FOR EACH ROW EXECUTE FUNCTION analytics_mark_of_conversation();
CREATE TRIGGER analytics_mark_csat AFTER INSERT OR UPDATE OR DELETE ON csat
    FOR EACH ROW EXECUTE FUNCTION analytics_mark_of_conversation();
CREATE TRIGGER analytics_mark_kb_use AFTER INSERT ON kb_article_uses
    FOR EACH ROW WHEN (NEW.kind = 'shown_by_bot')
    EXECUTE FUNCTION analytics_mark_of_conversation();
CREATE TRIGGER analytics_mark_kb_outcome AFTER INSERT OR UPDATE OR DELETE ON kb_article_outcomes
    FOR EACH ROW EXECUTE FUNCTION analytics_mark_of_conversation();

-- A breach: its conversation's hour (the fact) and the hour it happened in.
CREATE FUNCTION analytics_mark_breach() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_stale
    SELECT c.brand_id, date_trunc('hour', h, 'UTC')
      FROM conversations c, unnest(ARRAY[c.created_at, NEW.breached_at]) h
     WHERE c.id = NEW.conversation_id;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_mark_breach AFTER INSERT ON sla_breaches
    FOR EACH ROW EXECUTE FUNCTION analytics_mark_breach();

-- Who held which conversation when (the agents' load over time, server/store/analytics_load.py):
-- a span from each assignment to the conversation's next change of hands (another
-- assignment, a transfer, back to the queue or the bot, resolved); open while held. Kept by
-- a trigger on the activities those changes already record, so a few rows a conversation.
CREATE TABLE analytics_held (
    id              bigserial PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    brand_id        uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    agent_id        uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    started_at      timestamptz NOT NULL,
    ended_at        timestamptz
);
CREATE INDEX analytics_held_open ON analytics_held (conversation_id) WHERE ended_at IS NULL;
CREATE INDEX analytics_held_ended ON analytics_held (brand_id, ended_at);

CREATE FUNCTION analytics_held_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE analytics_held SET ended_at = NEW.created_at
     WHERE conversation_id = NEW.conversation_id AND ended_at IS NULL
       AND started_at <= NEW.created_at;
    IF NEW.kind = 'assigned' AND NEW.agent_id IS NOT NULL THEN
        INSERT INTO analytics_held (conversation_id, brand_id, agent_id, started_at)
        SELECT NEW.conversation_id, c.brand_id, NEW.agent_id, NEW.created_at
          FROM conversations c WHERE c.id = NEW.conversation_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_held_change AFTER INSERT ON activities
    FOR EACH ROW
    WHEN (NEW.kind IN ('assigned', 'transferred', 'requeued', 'returned_to_bot', 'resolved'))
    EXECUTE FUNCTION analytics_held_change();

-- The spans of the assignments already recorded.
INSERT INTO analytics_held (conversation_id, brand_id, agent_id, started_at, ended_at)
SELECT x.conversation_id, c.brand_id, x.agent_id, x.created_at, x.until
  FROM (SELECT a.conversation_id, a.kind, a.agent_id, a.created_at,
               lead(a.created_at) OVER (PARTITION BY a.conversation_id
                                        ORDER BY a.created_at, a.id) AS until
          FROM activities a
         WHERE a.kind IN ('assigned', 'transferred', 'requeued', 'returned_to_bot',
                          'resolved')) x
  JOIN conversations c ON c.id = x.conversation_id
 WHERE x.kind = 'assigned' AND x.agent_id IS NOT NULL;

-- The backfill: every hour before the current one, folded now.
INSERT INTO analytics_fold_state (folded_until) VALUES (date_trunc('hour', now(), 'UTC'));
SELECT analytics_fold(NULL, '-infinity', date_trunc('hour', now(), 'UTC'));
