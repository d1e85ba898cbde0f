-- The pairs of breakdowns per hour for the current UTC day only (issue 20).
--
-- Migration 0052 keeps a pair per UTC day, computed when the watermark completes the day; a
-- pair's read takes the day's hours from the facts until then. A live dashboard's range ends
-- today, so "only English, by agent" read all of today's conversations from the facts: at a
-- million conversations in 90 days, 11,000 at the end of the day, about 300 ms of the read.
-- Now the hours of the day the watermark is in (and only those: per hour a pair costs about
-- ninety rows a conversation, 0052's header) also get their pairs' hour rows when folded,
-- and lose them when the watermark completes their day, whose pair rows are then computed
-- from the facts as before. A read takes those hours from these rows
-- (server/store/analytics_rollups.py, plan). An hour folded again after a change (a mark)
-- gets its pair rows again if it is still in the current day.
CREATE OR REPLACE FUNCTION analytics_fold_hours(p_brand uuid, p_from timestamptz, p_to timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    dims text[] := analytics_dims();
    pairs text[] := ARRAY(SELECT d FROM unnest(dims) d WHERE strpos(d, '|') > 0);
    upto timestamptz := least(p_to, now());
    -- The first day the watermark has not completed once this fold is done (the watermark
    -- moves to p_to when the fold is its advance; an hour folded again lies behind it).
    today timestamptz := date_trunc(
        'day', greatest(p_to, coalesce((SELECT folded_until FROM analytics_fold_state), p_to)),
        'UTC');
BEGIN
    IF p_brand IS NULL THEN
        DELETE FROM analytics_hours WHERE hour >= p_from AND hour < p_to;
        DELETE FROM analytics_hour_durations WHERE hour >= p_from AND hour < p_to;
        DELETE FROM analytics_activity_hours WHERE hour >= p_from AND hour < p_to;
        DELETE FROM analytics_load_hours WHERE hour >= p_from AND hour < p_to;
        DELETE FROM analytics_hours WHERE dim = ANY(pairs) AND hour < today;
        DELETE FROM analytics_hour_durations WHERE dim = ANY(pairs) AND hour < today;
        INSERT INTO analytics_hours SELECT * FROM analytics_hours_of(NULL, p_from, p_to);
        INSERT INTO analytics_hour_durations SELECT * FROM analytics_durations_of(NULL, p_from, p_to);
        INSERT INTO analytics_activity_hours SELECT * FROM analytics_activity_of(NULL, p_from, p_to);
        INSERT INTO analytics_load_hours SELECT * FROM analytics_load_of(NULL, p_from, upto, upto);
        IF greatest(p_from, today) < p_to THEN
            INSERT INTO analytics_hours
            SELECT * FROM analytics_rows_of(NULL, greatest(p_from, today), p_to, true, false, NULL);
            INSERT INTO analytics_hour_durations
            SELECT * FROM analytics_row_durations_of(
                NULL, greatest(p_from, today), p_to, true, false, NULL);
        END IF;
        RETURN;
    END IF;
    DELETE FROM analytics_hours
     WHERE brand_id = p_brand AND dim = ANY(dims) AND hour >= p_from AND hour < p_to;
    DELETE FROM analytics_hour_durations
     WHERE brand_id = p_brand AND dim = ANY(dims) AND hour >= p_from AND hour < p_to;
    DELETE FROM analytics_activity_hours
     WHERE brand_id = p_brand AND dim = ANY(dims) AND hour >= p_from AND hour < p_to;
    DELETE FROM analytics_load_hours WHERE brand_id = p_brand AND hour >= p_from AND hour < p_to;
    DELETE FROM analytics_hours WHERE brand_id = p_brand AND dim = ANY(pairs) AND hour < today;
    DELETE FROM analytics_hour_durations
     WHERE brand_id = p_brand AND dim = ANY(pairs) AND hour < today;
    INSERT INTO analytics_hours SELECT * FROM analytics_hours_of(p_brand, p_from, p_to);
    INSERT INTO analytics_hour_durations SELECT * FROM analytics_durations_of(p_brand, p_from, p_to);
    INSERT INTO analytics_activity_hours SELECT * FROM analytics_activity_of(p_brand, p_from, p_to);
    INSERT INTO analytics_load_hours SELECT * FROM analytics_load_of(p_brand, p_from, upto, upto);
    IF greatest(p_from, today) < p_to THEN
        INSERT INTO analytics_hours
        SELECT * FROM analytics_rows_of(p_brand, greatest(p_from, today), p_to, true, false, NULL);
        INSERT INTO analytics_hour_durations
        SELECT * FROM analytics_row_durations_of(
            p_brand, greatest(p_from, today), p_to, true, false, NULL);
    END IF;
END $$;

-- The current day's folded hours, their pairs now.
INSERT INTO analytics_hours
SELECT * FROM analytics_rows_of(
    NULL, date_trunc('day', (SELECT folded_until FROM analytics_fold_state), 'UTC'),
    (SELECT folded_until FROM analytics_fold_state), true, false, NULL)
 WHERE (SELECT folded_until FROM analytics_fold_state) IS NOT NULL;
INSERT INTO analytics_hour_durations
SELECT * FROM analytics_row_durations_of(
    NULL, date_trunc('day', (SELECT folded_until FROM analytics_fold_state), 'UTC'),
    (SELECT folded_until FROM analytics_fold_state), true, false, NULL)
 WHERE (SELECT folded_until FROM analytics_fold_state) IS NOT NULL;
