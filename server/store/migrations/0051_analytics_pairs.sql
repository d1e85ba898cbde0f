-- The reports' roll-ups keyed by pairs of breakdowns (issue 20; server/store/analytics_rollups.py,
-- docs/metrics.md "What a report costs").
--
-- A breakdown filtered on another breakdown ("only English", by agent) had no roll-up to read:
-- the roll-ups kept one breakdown at a time, so the read fell back to the facts of every
-- conversation of the range, 291-325 ms for a week at 1,000,000 conversations and about four
-- times that for a month. Each conversation is now also counted under every pair of its
-- breakdown keys: dimension 'agent|language' and key '<agent id>|en', for the fifteen pairs of
-- the six breakdowns (each pair once, in the order team, agent, channel, intent, language,
-- band; a read for "only agent X, by language" takes the same rows by their other half). The
-- rows are the same kind as the single breakdowns' (counts, ratings, reasons, the durations'
-- histograms), in the same tables, kept by the same fold and summed into days the same way, so
-- a filtered breakdown is a read of one dimension's rows like any other. Messages and breaches
-- (analytics_activity_*) are not kept per pair: no filtered breakdown counts them.
--
-- What it costs: a pair's keys are the product of its halves' values met in the hour (at a
-- million conversations over 90 days, about 1,000 pair keys an hour beside 73 single ones,
-- most of them the agent's pairs), so the roll-up tables grow several times over and a fold
-- does that much more work; bench/analytics.py prints both.

-- Each conversation's roll-up keys: 'all', each breakdown, each pair of breakdowns. One list
-- for the functions below and the fold's dimensions (analytics_dims).
CREATE FUNCTION analytics_dim_keys(
    team text, agent text, channel text, intent text, language text, band text
) RETURNS TABLE (dim text, key text) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    VALUES ('all', 'all'), ('team', team), ('agent', agent), ('channel', channel),
           ('intent', intent), ('language', language), ('band', band),
           ('team|agent', team || '|' || agent),
           ('team|channel', team || '|' || channel),
           ('team|intent', team || '|' || intent),
           ('team|language', team || '|' || language),
           ('team|band', team || '|' || band),
           ('agent|channel', agent || '|' || channel),
           ('agent|intent', agent || '|' || intent),
           ('agent|language', agent || '|' || language),
           ('agent|band', agent || '|' || band),
           ('channel|intent', channel || '|' || intent),
           ('channel|language', channel || '|' || language),
           ('channel|band', channel || '|' || band),
           ('intent|language', intent || '|' || language),
           ('intent|band', intent || '|' || band),
           ('language|band', language || '|' || band)
$$;

CREATE FUNCTION analytics_dims() RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(dim) FROM analytics_dim_keys('', '', '', '', '', '')
$$;

-- 0032's functions, each conversation under every key of analytics_dim_keys.
CREATE OR REPLACE FUNCTION analytics_hours_of(p_brand uuid, p_from timestamptz, p_to timestamptz)
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
      CROSS JOIN LATERAL analytics_dim_keys(v.team, v.agent, v.channel, v.intent, v.language,
                                            v.band) d
     WHERE (p_brand IS NULL OR v.brand_id = p_brand)
       AND v.created_at >= p_from AND v.created_at < p_to
     GROUP BY v.brand_id, v.hour, d.dim, d.key
$$;

CREATE OR REPLACE FUNCTION analytics_durations_of(
    p_brand uuid, p_from timestamptz, p_to timestamptz
) RETURNS SETOF analytics_hour_durations LANGUAGE sql STABLE AS $$
    SELECT v.brand_id, v.hour, d.dim, d.key, m.metric, analytics_bucket(m.seconds), count(*)::int
      FROM analytics_values v
      CROSS JOIN LATERAL analytics_dim_keys(v.team, v.agent, v.channel, v.intent, v.language,
                                            v.band) d
      CROSS JOIN LATERAL (VALUES (1::smallint, v.frt_human), (2::smallint, v.frt_any),
                                 (3::smallint, v.resolution), (4::smallint, v.handle),
                                 (5::smallint, v.wait)) m(metric, seconds)
     WHERE (p_brand IS NULL OR v.brand_id = p_brand)
       AND v.created_at >= p_from AND v.created_at < p_to
       AND m.seconds IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5, 6
$$;

-- 0034's hours fold and 0041's days fold, their one-brand statements over every dimension of
-- analytics_dims (they name the dimensions so they go through the (brand, dim, hour / day)
-- keys); otherwise as they were.
CREATE OR REPLACE FUNCTION analytics_fold_hours(p_brand uuid, p_from timestamptz, p_to timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    dims text[] := analytics_dims();
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

CREATE OR REPLACE FUNCTION analytics_fold_days(p_brand uuid, p_from timestamptz, p_to timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    dims text[] := analytics_dims();
    hours text := 'h.hour >= $2 AND h.hour < $3';
    days text := 'day >= $2 AND day < $3';
BEGIN
    IF p_from >= p_to THEN
        RETURN;
    END IF;
    IF p_brand IS NOT NULL THEN
        hours := 'h.brand_id = $1 AND h.dim = ANY($4) AND ' || hours;
        days := 'brand_id = $1 AND dim = ANY($4) AND ' || days;
    END IF;
    EXECUTE 'DELETE FROM analytics_days WHERE ' || days USING p_brand, p_from, p_to, dims;
    EXECUTE 'DELETE FROM analytics_day_durations WHERE ' || days
      USING p_brand, p_from, p_to, dims;
    EXECUTE 'DELETE FROM analytics_activity_days WHERE ' || days
      USING p_brand, p_from, p_to, dims;
    EXECUTE $q$
      INSERT INTO analytics_days
      SELECT h.brand_id, date_trunc('day', h.hour, 'UTC'), h.dim, h.key,
             sum(h.conversations)::int, sum(h.contained_settled)::int, sum(h.bot_open)::int,
             sum(h.handed)::int, sum(h.bot_replied)::int, sum(h.fell_back)::int,
             sum(h.kb_answered)::int, sum(h.kb_helpful)::int, sum(h.kb_not_helpful)::int,
             sum(h.resolved)::int, sum(h.resolved_ever)::int, sum(h.reopened)::int,
             sum(h.csat_asked)::int, sum(h.csat_answered)::int, sum(h.csat_sum)::int,
             sum(h.csat_comments)::int, sum(h.with_sla)::int, sum(h.frt_met)::int,
             sum(h.resolution_met)::int,
             ARRAY[sum(h.ratings[1]), sum(h.ratings[2]), sum(h.ratings[3]), sum(h.ratings[4]),
                   sum(h.ratings[5])]::int[],
             coalesce((SELECT jsonb_object_agg(r.key, r.n) FROM (
                         SELECT e.key, sum(e.value::int) AS n
                           FROM unnest(array_agg(h.reasons)) j(reasons),
                                jsonb_each_text(j.reasons) e
                          GROUP BY e.key) r), '{}'::jsonb)
        FROM analytics_hours h WHERE $q$ || hours || $q$
       GROUP BY h.brand_id, date_trunc('day', h.hour, 'UTC'), h.dim, h.key$q$
      USING p_brand, p_from, p_to, dims;
    EXECUTE $q$
      INSERT INTO analytics_day_durations
      SELECT h.brand_id, date_trunc('day', h.hour, 'UTC'), h.dim, h.key, h.metric, h.bucket,
             sum(h.n)::int
        FROM analytics_hour_durations h WHERE $q$ || hours || $q$
       GROUP BY 1, 2, 3, 4, 5, 6$q$
      USING p_brand, p_from, p_to, dims;
    EXECUTE $q$
      INSERT INTO analytics_activity_days
      SELECT h.brand_id, date_trunc('day', h.hour, 'UTC'), h.dim, h.key, sum(h.messages)::int,
             sum(h.breaches)::int
        FROM analytics_activity_hours h WHERE $q$ || hours || $q$
       GROUP BY 1, 2, 3, 4$q$
      USING p_brand, p_from, p_to, dims;
END $$;

-- The backfill: the pairs of every hour folded so far, a UTC day a statement (the whole history
-- at once grouped tens of millions of rows at a million conversations and spilled to disk),
-- then every whole day before the watermark again from its hours (the days' single
-- breakdowns come out as they were).
DO $$
DECLARE
    until timestamptz := (SELECT folded_until FROM analytics_fold_state);
    at timestamptz := (SELECT date_trunc('day', min(created_at), 'UTC') FROM conversations);
BEGIN
    WHILE at < until LOOP
        INSERT INTO analytics_hours
        SELECT * FROM analytics_hours_of(NULL, at, least(at + interval '24 hours', until))
         WHERE dim LIKE '%|%';
        INSERT INTO analytics_hour_durations
        SELECT * FROM analytics_durations_of(NULL, at, least(at + interval '24 hours', until))
         WHERE dim LIKE '%|%';
        at := at + interval '24 hours';
    END LOOP;
    PERFORM analytics_fold_days(NULL, '-infinity', date_trunc('day', until, 'UTC'));
END $$;
