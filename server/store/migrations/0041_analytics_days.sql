-- The reports' per-day roll-ups, a second tier over the hourly one (issue 20;
-- server/store/analytics_rollups.py, analytics_days.py, docs/metrics.md).
--
-- A month's breakdown by agent read 53 agents x 720 hours of analytics_hours rows and their
-- histograms (about 650,000 histogram entries at 1,000,000 conversations over 90 days):
-- 1,077 / 1,553 ms p50 / p99 at a million, the slowest chart. Per brand and UTC day, these
-- tables keep the sums of that day's hourly rows, key by key, so a range's whole days are
-- read from them and only its edges (and the hours marked since their fold) from the hours.
-- A day's histogram is its hours' histograms added bucket by bucket, in the same buckets:
-- a quantile read from the days is the one read from the hours, and every count the same.
--
-- How they are kept: from the hourly tier, never from the facts, by analytics_fold_days,
-- which analytics_fold now calls after folding the hours (below): a day is folded once the
-- watermark has passed its end (when the hour that completes it is folded), and again in
-- the same transaction as any of its hours is folded again after a mark (the fold's Python
-- loop, analytics_rollups.fold, folds each marked day once a batch). A day not yet complete,
-- or with a mark pending, is never read from here: the read takes its hours instead. So for
-- every day wholly before the watermark and not marked, its row is the sum of its hours'.

CREATE TABLE analytics_days (LIKE analytics_hours INCLUDING ALL);
ALTER TABLE analytics_days RENAME COLUMN hour TO day;  -- UTC midnight
ALTER TABLE analytics_days
    ADD FOREIGN KEY (brand_id) REFERENCES brands(id) ON DELETE CASCADE;

CREATE TABLE analytics_day_durations (LIKE analytics_hour_durations INCLUDING ALL);
ALTER TABLE analytics_day_durations RENAME COLUMN hour TO day;
ALTER TABLE analytics_day_durations
    ADD FOREIGN KEY (brand_id) REFERENCES brands(id) ON DELETE CASCADE;

CREATE TABLE analytics_activity_days (LIKE analytics_activity_hours INCLUDING ALL);
ALTER TABLE analytics_activity_days RENAME COLUMN hour TO day;
ALTER TABLE analytics_activity_days
    ADD FOREIGN KEY (brand_id) REFERENCES brands(id) ON DELETE CASCADE;

-- Fold the whole UTC days in [p_from, p_to) again from their hours, for a brand (every brand
-- when NULL). As analytics_fold: the one-brand statements name the dimensions, so they go
-- through the (brand, dim, day / hour) keys; EXECUTE plans each for the branch it is in.
CREATE FUNCTION analytics_fold_days(p_brand uuid, p_from timestamptz, p_to timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    dims text[] := ARRAY['all', 'team', 'agent', 'channel', 'intent', 'language', 'band'];
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
    -- Counts add up; the ratings element by element; the reasons key by key.
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
    -- A day's histogram: its hours' added bucket by bucket (the same buckets).
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

-- 0034's fold becomes the hours' part; analytics_fold folds the hours, then the days they
-- complete or change: the days meeting [p_from, p_to) that end by the watermark (or by
-- p_to, when the fold is the watermark's advance to p_to, before it is moved).
ALTER FUNCTION analytics_fold(uuid, timestamptz, timestamptz) RENAME TO analytics_fold_hours;

CREATE FUNCTION analytics_day_ceil(p_at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT date_trunc('day', p_at - interval '1 microsecond', 'UTC') + interval '1 day'
$$;

CREATE FUNCTION analytics_fold(p_brand uuid, p_from timestamptz, p_to timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    until timestamptz := (SELECT folded_until FROM analytics_fold_state);
BEGIN
    PERFORM analytics_fold_hours(p_brand, p_from, p_to);
    PERFORM analytics_fold_days(
        p_brand, date_trunc('day', p_from, 'UTC'),
        least(analytics_day_ceil(p_to),
              date_trunc('day', greatest(p_to, coalesce(until, p_to)), 'UTC')));
END $$;

-- The backfill: every whole day before the watermark, from the hours folded so far.
SELECT analytics_fold_days(
    NULL, '-infinity', date_trunc('day', (SELECT folded_until FROM analytics_fold_state), 'UTC'));
