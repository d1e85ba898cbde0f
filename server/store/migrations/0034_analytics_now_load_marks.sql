-- The reports' last three parts (issue 20; server/store/analytics_live.py, analytics_load.py,
-- analytics_rollups.py, docs/metrics.md).
--
-- 1. "Now" (queues per team, the longest wait, conversations at risk) counted the open
--    conversations from their heap rows: conversations_by_status (status, last_message_at)
--    found every assigned one, and each was read to test its brand and first-response
--    deadline. At a million conversations with 59,543 open (the bench's old history), the
--    at-risk count read 27,760 pages in 127 ms (EXPLAIN ANALYZE, BUFFERS). Two partial
--    indexes hold just what those counts test, so they are answered from the index alone:
--    the queued ones of the brand by team (the router's conversations_queue is by team alone,
--    which the waiting ones with no team yet cannot use), and the unanswered open ones by
--    deadline, of which the read takes those due within five minutes. The same count, all
--    59,543 unanswered and past due (the worst case): an index-only scan, no heap fetch,
--    9.5 ms; it grows with the conversations at risk, not with those open.
CREATE INDEX conversations_queued_by_brand ON conversations (brand_id, team_id, queued_at)
    WHERE status = 'queued';
CREATE INDEX conversations_unanswered ON conversations (brand_id, first_response_due)
    WHERE status IN ('queued', 'assigned') AND first_response_at IS NULL;

-- 2. The agents' load per UTC hour: per brand, hour and agent, the time held (all the
--    conversations together, in seconds) and the peak (the most held at one moment of the
--    hour, its start included), from analytics_held's spans. A range's load then reads hours
--    x agents rows, not every span of the range; a day's (a week's) time held is its hours'
--    sum, its peak their greatest. Folded with the other roll-ups (analytics_fold below).
CREATE TABLE analytics_load_hours (
    brand_id uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    hour     timestamptz NOT NULL,
    agent_id uuid NOT NULL,
    held     double precision NOT NULL,  -- seconds
    peak     integer NOT NULL,
    PRIMARY KEY (brand_id, hour, agent_id) INCLUDE (held, peak)
);

-- The spans that meet a range of hours, by overlap: a fold (or a read) of an hour a month
-- back reads the spans of that hour, not every span ended since.
CREATE INDEX analytics_held_during ON analytics_held USING gist (
    tstzrange(started_at, greatest(started_at, coalesce(ended_at, 'infinity')), '[)'));

-- The load rows of [p_from, least(p_to, p_now)) of a brand (every brand when NULL), spans
-- still open held until p_now; the range's first and last hour may be parts of hours, a row
-- for the part (its hour: the UTC hour it lies in). Also what a report reads for hours not
-- folded. Moments as server/store/analytics_load.py's exact read: each span's start (+1), its
-- end (-1) and each hour's start (0) for every agent; between two moments the number held is
-- constant, so the running sum gives the peak and, times the stretch, the time held.
CREATE FUNCTION analytics_load_of(p_brand uuid, p_from timestamptz, p_to timestamptz,
                                  p_now timestamptz)
RETURNS SETOF analytics_load_hours LANGUAGE sql STABLE AS $$
    WITH spans AS (
      SELECT h.brand_id, h.agent_id, h.started_at, h.ended_at FROM analytics_held h
       WHERE (p_brand IS NULL OR h.brand_id = p_brand)
         AND tstzrange(h.started_at, greatest(h.started_at, coalesce(h.ended_at, 'infinity')),
                       '[)')
             && tstzrange(p_from, greatest(p_from, least(p_to, p_now)), '[)')
    ), held AS (
      SELECT brand_id, agent_id, greatest(started_at, p_from) AS s,
             least(coalesce(ended_at, p_now), p_to, p_now) AS e
        FROM spans
    ), kept AS (
      SELECT * FROM held WHERE e > s
    ), bounds AS (
      SELECT min(s) AS a, max(e) AS z FROM kept
    ), people AS (
      SELECT DISTINCT brand_id, agent_id FROM kept
    ), hours AS (
      SELECT greatest(h, b.a) AS at
        FROM bounds b, generate_series(date_trunc('hour', b.a, 'UTC'), b.z, interval '1 hour') h
       WHERE b.a IS NOT NULL AND greatest(h, b.a) < b.z
    ), moments AS (
      SELECT brand_id, agent_id, s AS at, 1 AS d FROM kept
      UNION ALL SELECT brand_id, agent_id, e, -1 FROM kept
      UNION ALL SELECT p.brand_id, p.agent_id, k.at, 0 FROM people p, hours k
      UNION ALL SELECT p.brand_id, p.agent_id, b.z, 0 FROM people p, bounds b
    ), levels AS (
      SELECT brand_id, agent_id, at, d, sum(d) OVER w AS level, lead(at) OVER w AS next_at
        FROM moments
      WINDOW w AS (PARTITION BY brand_id, agent_id
                   ORDER BY at, CASE d WHEN -1 THEN 0 WHEN 1 THEN 1 ELSE 2 END
                   ROWS UNBOUNDED PRECEDING)
    )
    SELECT l.brand_id, date_trunc('hour', l.at, 'UTC'), l.agent_id,
           sum(l.level * extract(epoch FROM l.next_at - l.at))::float8,
           (max(l.level) FILTER (WHERE l.d >= 0))::int
      FROM levels l, bounds b
     WHERE l.at < b.z
     GROUP BY l.brand_id, date_trunc('hour', l.at, 'UTC'), l.agent_id
    HAVING sum(l.level * extract(epoch FROM l.next_at - l.at)) > 0
$$;

-- 0032's fold, with the load rows. Folded hours lie before the watermark, so before now:
-- a span still open is held to the hour's end.
CREATE OR REPLACE FUNCTION analytics_fold(p_brand uuid, p_from timestamptz, p_to timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    dims text[] := ARRAY['all', 'team', 'agent', 'channel', 'intent', 'language', 'band'];
    upto timestamptz := least(p_to, now());
BEGIN
    IF p_brand IS NULL THEN
        DELETE FROM analytics_hours WHERE hour >= p_from AND hour < p_to;
        DELETE FROM analytics_hour_durations WHERE hour >= p_from AND hour < p_to;
        DELETE FROM analytics_activity_hours WHERE hour >= p_from AND hour < p_to;
        DELETE FROM analytics_load_hours WHERE hour >= p_from AND hour < p_to;
        INSERT INTO analytics_hours SELECT * FROM analytics_hours_of(NULL, p_from, p_to);
        INSERT INTO analytics_hour_durations SELECT * FROM analytics_durations_of(NULL, p_from, p_to);
        INSERT INTO analytics_activity_hours SELECT * FROM analytics_activity_of(NULL, p_from, p_to);
        INSERT INTO analytics_load_hours SELECT * FROM analytics_load_of(NULL, p_from, upto, upto);
        RETURN;
    END IF;
    DELETE FROM analytics_hours
     WHERE brand_id = p_brand AND dim = ANY(dims) AND hour >= p_from AND hour < p_to;
    DELETE FROM analytics_hour_durations
     WHERE brand_id = p_brand AND dim = ANY(dims) AND hour >= p_from AND hour < p_to;
    DELETE FROM analytics_activity_hours
     WHERE brand_id = p_brand AND dim = ANY(dims) AND hour >= p_from AND hour < p_to;
    DELETE FROM analytics_load_hours WHERE brand_id = p_brand AND hour >= p_from AND hour < p_to;
    INSERT INTO analytics_hours SELECT * FROM analytics_hours_of(p_brand, p_from, p_to);
    INSERT INTO analytics_hour_durations SELECT * FROM analytics_durations_of(p_brand, p_from, p_to);
    INSERT INTO analytics_activity_hours SELECT * FROM analytics_activity_of(p_brand, p_from, p_to);
    INSERT INTO analytics_load_hours SELECT * FROM analytics_load_of(p_brand, p_from, upto, upto);
END $$;

-- A span that changes hours already folded marks them for the load's refold: one recorded
-- (or ended) before the current hour, which only a backdated write or an import makes. The
-- live path assigns and ends now, after the watermark: the WHEN compares two timestamps and
-- calls nothing. A mark is a range of hours, not a row an hour: a span recorded open three
-- months back changes every hour since (a fold may have counted it held to the watermark),
-- and an import of a quarter's assignments must not append thousands of rows a span. The
-- fold merges the ranges (range_agg) and folds the load alone over each merged range,
-- clipped to the watermark (server/store/analytics_rollups.py, ``fold``).
CREATE TABLE analytics_load_stale (
    brand_id uuid NOT NULL,
    from_at  timestamptz NOT NULL,  -- whole hours
    to_at    timestamptz NOT NULL   -- 'infinity': up to the watermark
);
CREATE INDEX analytics_load_stale_brand ON analytics_load_stale (brand_id, from_at);

CREATE FUNCTION analytics_mark_held() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    a timestamptz;
    z timestamptz;
BEGIN
    IF TG_OP = 'INSERT' THEN
        a := NEW.started_at;
        z := coalesce(NEW.ended_at, 'infinity');
    ELSIF OLD.started_at = NEW.started_at AND OLD.agent_id = NEW.agent_id THEN
        -- Between the old end and the new one.
        a := least(coalesce(OLD.ended_at, 'infinity'), coalesce(NEW.ended_at, 'infinity'));
        z := greatest(coalesce(OLD.ended_at, 'infinity'), coalesce(NEW.ended_at, 'infinity'));
    ELSE
        a := least(OLD.started_at, NEW.started_at);
        z := 'infinity';
    END IF;
    IF a < z THEN
        INSERT INTO analytics_load_stale
        VALUES (NEW.brand_id, date_trunc('hour', a, 'UTC'),
                date_trunc('hour', z - interval '1 microsecond', 'UTC') + interval '1 hour');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_mark_held_new AFTER INSERT ON analytics_held
    FOR EACH ROW WHEN (NEW.started_at < date_trunc('hour', now(), 'UTC'))
    EXECUTE FUNCTION analytics_mark_held();
CREATE TRIGGER analytics_mark_held_change AFTER UPDATE ON analytics_held
    FOR EACH ROW WHEN (
        (OLD.ended_at IS DISTINCT FROM NEW.ended_at
         AND least(coalesce(OLD.ended_at, 'infinity'), coalesce(NEW.ended_at, 'infinity'))
             < date_trunc('hour', now(), 'UTC'))
        OR OLD.started_at <> NEW.started_at OR OLD.agent_id <> NEW.agent_id)
    EXECUTE FUNCTION analytics_mark_held();
-- Spans deleted (with their conversation, or an agent): the hours they covered. One
-- statement for all the rows a deletion takes.
CREATE FUNCTION analytics_mark_held_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_load_stale
    SELECT g.brand_id, date_trunc('hour', g.started_at, 'UTC'),
           date_trunc('hour', coalesce(g.ended_at, 'infinity') - interval '1 microsecond', 'UTC')
             + interval '1 hour'
      FROM gone g, analytics_fold_state f
     WHERE g.started_at < f.folded_until;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_mark_held_gone AFTER DELETE ON analytics_held
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION analytics_mark_held_gone();

-- The load alone folded again over [p_from, p_to) (whole hours before the watermark).
CREATE FUNCTION analytics_fold_load(p_brand uuid, p_from timestamptz, p_to timestamptz)
RETURNS void LANGUAGE sql AS $$
    DELETE FROM analytics_load_hours WHERE brand_id = p_brand AND hour >= p_from AND hour < p_to;
    INSERT INTO analytics_load_hours SELECT * FROM analytics_load_of(p_brand, p_from, p_to, p_to);
$$;

-- 3. A message dated into an hour already folded (an import, a late write) marks its hour:
--    its count in analytics_activity_hours changed. A live message is dated now(), its
--    transaction's start, and the watermark never passes the hour a running transaction
--    started in (analytics_rollups.HORIZON): the WHEN, two timestamps compared, is all a live
--    message pays (bench/analytics.py times the message path with it and without). An hour
--    already marked in this transaction is not marked again: an import of a day's messages
--    adds a mark an hour, not one a message.
CREATE FUNCTION analytics_mark_message() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_brand uuid;
    v_hour timestamptz := date_trunc('hour', NEW.created_at, 'UTC');
BEGIN
    IF v_hour >= (SELECT folded_until FROM analytics_fold_state) THEN
        RETURN NULL;
    END IF;
    SELECT c.brand_id INTO v_brand FROM conversations c WHERE c.id = NEW.conversation_id;
    IF NOT EXISTS (SELECT 1 FROM analytics_stale s WHERE s.brand_id = v_brand AND s.hour = v_hour)
    THEN
        INSERT INTO analytics_stale VALUES (v_brand, v_hour);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_mark_message AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.created_at < date_trunc('hour', now(), 'UTC'))
    EXECUTE FUNCTION analytics_mark_message();
-- A message deleted from an hour already folded (none of the server's paths deletes one
-- alone; erasure and retention delete conversations, which mark their hours): its hours,
-- one statement for all the rows. No path moves a message to another hour or conversation.
CREATE FUNCTION analytics_mark_messages_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_stale
    SELECT DISTINCT c.brand_id, date_trunc('hour', g.created_at, 'UTC')
      FROM gone g JOIN conversations c ON c.id = g.conversation_id, analytics_fold_state f
     WHERE g.created_at < f.folded_until;
    RETURN NULL;
END $$;
CREATE TRIGGER analytics_mark_messages_gone AFTER DELETE ON messages
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION analytics_mark_messages_gone();

-- The load of every hour the fold has passed (0032's backfill folded the others).
INSERT INTO analytics_load_hours
SELECT * FROM analytics_load_of(NULL, '-infinity', (SELECT folded_until FROM analytics_fold_state),
                                (SELECT folded_until FROM analytics_fold_state));
