-- Pairs of breakdowns in the per-day roll-ups only (issue 20; migration 0051 kept them per hour
-- and per day; server/store/analytics_rollups.py, docs/metrics.md "Pairs of breakdowns").
--
-- Per hour, a pair's keys hold one or two conversations each, so each conversation became about
-- ninety hour rows (fifteen pairs' counts and five durations' histograms each): at 20,000
-- conversations the hour rows went from 50,549 to 265,706 with 1.23 M histogram rows, a fold
-- from scratch from about 5 s to 35 s, and at a million conversations a rebuild wrote 2.4 GB of
-- hour histograms in half an hour without finishing. A read of a pair (a breakdown filtered on
-- another breakdown) goes over whole days; its few edge hours are read from the facts, as are
-- the hours of a day with a pending mark. So the pairs are kept per UTC day only, computed from
-- the day's facts when the day is folded (the single breakdowns' day rows still add up their
-- hours), and the hour rows of pairs are dropped.
--
-- A day's fold now costs as much as its conversations' facts (seconds for a busy day), so an
-- hour folded again after a change no longer folds its day again in the same round: the day
-- is put on hold in analytics_held_days, read by its hours (and its pairs from the facts)
-- while it waits, and folded again once it has waited a few minutes
-- (server/store/analytics_fold.py): a desk that keeps changing yesterday's conversations costs
-- one day's fold every few minutes, not every sweep.
CREATE TABLE analytics_held_days (
    brand_id  uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    day       timestamptz NOT NULL,  -- UTC midnight
    held_at   timestamptz NOT NULL DEFAULT now(),  -- the first change since its last fold
    PRIMARY KEY (brand_id, day)
);

-- The UTC hour of a row, or its UTC day's midnight.
CREATE FUNCTION analytics_row_at(p_hour timestamptz, p_daily boolean) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_daily THEN date_trunc('day', p_hour, 'UTC') ELSE p_hour END
$$;

-- The value of the breakdown p_dim among a conversation's values.
CREATE FUNCTION analytics_key(
    p_dim text, team text, agent text, channel text, intent text, language text, band text
) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE p_dim WHEN 'team' THEN team WHEN 'agent' THEN agent WHEN 'channel' THEN channel
                      WHEN 'intent' THEN intent WHEN 'language' THEN language WHEN 'band' THEN band
           END
$$;

-- A conversation's keys: of 0051's analytics_dim_keys, the single breakdowns' or the pairs'
-- (p_pairs); or only the pair p_dim's, computed alone (a read of one pair's hours from the
-- facts: the fifteen pairs' keys, built and thrown away, were half its time).
CREATE FUNCTION analytics_keys_of(
    team text, agent text, channel text, intent text, language text, band text,
    p_pairs boolean, p_dim text
) RETURNS TABLE (dim text, key text) LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT k.dim, k.key FROM analytics_dim_keys(team, agent, channel, intent, language, band) k
     WHERE p_dim IS NULL AND (strpos(k.dim, '|') > 0) = p_pairs
    UNION ALL
    SELECT p_dim,
           analytics_key(split_part(p_dim, '|', 1), team, agent, channel, intent, language, band)
           || '|'
           || analytics_key(split_part(p_dim, '|', 2), team, agent, channel, intent, language, band)
     WHERE p_dim IS NOT NULL
$$;

-- 0051's two functions, for the single breakdowns (p_pairs false), the pairs (true) or one pair
-- (p_dim), by hour or (p_daily) by UTC day.
CREATE FUNCTION analytics_rows_of(
    p_brand uuid, p_from timestamptz, p_to timestamptz, p_pairs boolean, p_daily boolean,
    p_dim text
) RETURNS SETOF analytics_hours LANGUAGE sql STABLE AS $$
    SELECT v.brand_id, analytics_row_at(v.hour, p_daily), d.dim, d.key,
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
      CROSS JOIN LATERAL analytics_keys_of(v.team, v.agent, v.channel, v.intent, v.language,
                                           v.band, p_pairs, p_dim) d
     WHERE (p_brand IS NULL OR v.brand_id = p_brand)
       AND v.created_at >= p_from AND v.created_at < p_to
     GROUP BY v.brand_id, analytics_row_at(v.hour, p_daily), d.dim, d.key
$$;

CREATE FUNCTION analytics_row_durations_of(
    p_brand uuid, p_from timestamptz, p_to timestamptz, p_pairs boolean, p_daily boolean,
    p_dim text
) RETURNS SETOF analytics_hour_durations LANGUAGE sql STABLE AS $$
    SELECT v.brand_id, analytics_row_at(v.hour, p_daily), d.dim, d.key, m.metric, analytics_bucket(m.seconds), count(*)::int
      FROM analytics_values v
      CROSS JOIN LATERAL analytics_keys_of(v.team, v.agent, v.channel, v.intent, v.language,
                                           v.band, p_pairs, p_dim) d
      CROSS JOIN LATERAL (VALUES (1::smallint, v.frt_human), (2::smallint, v.frt_any),
                                 (3::smallint, v.resolution), (4::smallint, v.handle),
                                 (5::smallint, v.wait)) m(metric, seconds)
     WHERE (p_brand IS NULL OR v.brand_id = p_brand)
       AND v.created_at >= p_from AND v.created_at < p_to
       AND m.seconds IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5, 6
$$;


-- The hours' functions the fold and the reads call, the single breakdowns only again (as 0032);
-- the pairs by hour for the reads of their edge hours.
CREATE OR REPLACE FUNCTION analytics_hours_of(p_brand uuid, p_from timestamptz, p_to timestamptz)
RETURNS SETOF analytics_hours LANGUAGE sql STABLE AS $$
    SELECT * FROM analytics_rows_of(p_brand, p_from, p_to, false, false, NULL)
$$;

CREATE OR REPLACE FUNCTION analytics_durations_of(
    p_brand uuid, p_from timestamptz, p_to timestamptz
) RETURNS SETOF analytics_hour_durations LANGUAGE sql STABLE AS $$
    SELECT * FROM analytics_row_durations_of(p_brand, p_from, p_to, false, false, NULL)
$$;

CREATE FUNCTION analytics_pair_hours_of(
    p_brand uuid, p_from timestamptz, p_to timestamptz, p_dim text
) RETURNS SETOF analytics_hours LANGUAGE sql STABLE AS $$
    SELECT * FROM analytics_rows_of(p_brand, p_from, p_to, true, false, p_dim)
$$;

CREATE FUNCTION analytics_pair_durations_of(
    p_brand uuid, p_from timestamptz, p_to timestamptz, p_dim text
) RETURNS SETOF analytics_hour_durations LANGUAGE sql STABLE AS $$
    SELECT * FROM analytics_row_durations_of(p_brand, p_from, p_to, true, false, p_dim)
$$;

-- 0051's day fold: the single breakdowns from their hours as before, then the pairs from the
-- facts.
CREATE OR REPLACE FUNCTION analytics_fold_days(p_brand uuid, p_from timestamptz, p_to timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    dims text[] := analytics_dims();
    singles text[] := ARRAY(SELECT d FROM unnest(dims) d WHERE strpos(d, '|') = 0);
    hours text := 'h.hour >= $2 AND h.hour < $3';
    days text := 'day >= $2 AND day < $3';
BEGIN
    IF p_from >= p_to THEN
        RETURN;
    END IF;
    IF p_brand IS NOT NULL THEN
        hours := 'h.brand_id = $1 AND h.dim = ANY($5) AND ' || hours;
        days := 'brand_id = $1 AND dim = ANY($4) AND ' || days;
    END IF;
    EXECUTE 'DELETE FROM analytics_days WHERE ' || days USING p_brand, p_from, p_to, dims, singles;
    EXECUTE 'DELETE FROM analytics_day_durations WHERE ' || days
      USING p_brand, p_from, p_to, dims, singles;
    EXECUTE 'DELETE FROM analytics_activity_days WHERE ' || days
      USING p_brand, p_from, p_to, dims, singles;
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
      USING p_brand, p_from, p_to, dims, singles;
    EXECUTE $q$
      INSERT INTO analytics_day_durations
      SELECT h.brand_id, date_trunc('day', h.hour, 'UTC'), h.dim, h.key, h.metric, h.bucket,
             sum(h.n)::int
        FROM analytics_hour_durations h WHERE $q$ || hours || $q$
       GROUP BY 1, 2, 3, 4, 5, 6$q$
      USING p_brand, p_from, p_to, dims, singles;
    EXECUTE $q$
      INSERT INTO analytics_activity_days
      SELECT h.brand_id, date_trunc('day', h.hour, 'UTC'), h.dim, h.key, sum(h.messages)::int,
             sum(h.breaches)::int
        FROM analytics_activity_hours h WHERE $q$ || hours || $q$
       GROUP BY 1, 2, 3, 4$q$
      USING p_brand, p_from, p_to, dims, singles;
    -- The pairs, from the facts of the day's conversations (the hours keep none).
    INSERT INTO analytics_days
    SELECT * FROM analytics_rows_of(p_brand, p_from, p_to, true, true, NULL);
    INSERT INTO analytics_day_durations
    SELECT * FROM analytics_row_durations_of(p_brand, p_from, p_to, true, true, NULL);
END $$;

-- An article use taken away (an article deleted cascades its uses) changes the conversation's
-- kb_shown like one added (0032 marked only the insert). Unmarked, its hour and day kept the old
-- count; with the pairs read from the facts at the day's next fold, the day's pairs and its
-- single breakdowns would then disagree (the review's finding).
CREATE TRIGGER analytics_mark_kb_use_gone AFTER DELETE ON kb_article_uses
    FOR EACH ROW WHEN (OLD.kind = 'shown_by_bot')
    EXECUTE FUNCTION analytics_mark_of_conversation();

-- The pairs' hour rows go; their day rows (0051's sums of those hours) are the same as the
-- facts' and stay.
DELETE FROM analytics_hours WHERE strpos(dim, '|') > 0;
DELETE FROM analytics_hour_durations WHERE strpos(dim, '|') > 0;
