-- switchboard: outside a transaction
-- (Each index is built CONCURRENTLY, so the tables' writes go on during the builds: at a
-- million conversations the histogram indexes are 1.8 GB, and a plain CREATE INDEX held
-- their tables, and the conversations table, against every write for as long. See
-- server/store/online_migration.py.)
--
-- Two of the reports' reads from indexes alone (issue 20): a pair's rows found by the half a
-- filter names, and the SLA breaches drill-down's conversations.
--
-- 1. A pair's rows (server/store/analytics_rows.py, MATCHES; docs/metrics.md "Pairs of
-- breakdowns").
-- "Only English, by agent" reads the rows of the pair agent|language whose second half is
-- 'en'. The days' keys are (brand_id, dim, day, key), so a 30-day read walked every key of
-- the pair for each day, French ones too, and dropped those by a filter on the key's text:
-- at a million conversations (bench.analytics, 2026-12-07) 120,372 histogram rows walked and
-- 72,648 of them dropped, 147 ms warm, all CPU, growing with the pair's keys times the days
-- (an intent filter, one value of six, drops five rows in six). These indexes keep each half
-- of a pair's key in its own index column, ahead of the day, so the read walks only the rows
-- of the filter's value.
--
-- Expressions rather than stored columns: a stored column would change the tables' row
-- type, which the fold's functions return (SETOF analytics_hours) and the reads add up with
-- their computed rows (UNION ALL of t.*), and an index on an expression is filled from the
-- rows already there when it is built, so no backfill statement is needed. split_part(key,
-- '|', 1) is the half before the first '|' and split_part(key, '|', -1) the half after the
-- last: for a filter value without '|' (every breakdown's value but a custom intent's), a row
-- whose first half is the value has it before the first '|', and one whose second half is the
-- value has it after the last. The reads keep their exact match on the key and add the
-- index's condition only for such a value (a value holding '|' reads as before).
--
-- Only the days' tables: the pairs' hour rows hold the current UTC day alone (migration
-- 0054), a few hours a read. The histograms' indexes carry the rest of the row, as their
-- primary key does (migration 0032), so a month's histograms are read from the index alone.
CREATE INDEX CONCURRENTLY IF NOT EXISTS analytics_days_first_half
    ON analytics_days (brand_id, dim, split_part(key, '|', 1), day);
CREATE INDEX CONCURRENTLY IF NOT EXISTS analytics_days_second_half
    ON analytics_days (brand_id, dim, split_part(key, '|', -1), day);
CREATE INDEX CONCURRENTLY IF NOT EXISTS analytics_day_durations_first_half
    ON analytics_day_durations (brand_id, dim, split_part(key, '|', 1), day)
    INCLUDE (key, metric, bucket, n);
CREATE INDEX CONCURRENTLY IF NOT EXISTS analytics_day_durations_second_half
    ON analytics_day_durations (brand_id, dim, split_part(key, '|', -1), day)
    INCLUDE (key, metric, bucket, n);

-- 2. The SLA breaches drill-down (server/store/analytics_live.py, _breached) finds the range's
-- breaches by when they happened, then each one's conversation, for its brand and its start
-- (the list is sorted by it, and counted): at a million conversations over 30 days, 20,034
-- breaches, each a visit to a breach's row and a look-up of its conversation's row: 81-131
-- ms warm and 2 s cold (bench.analytics, 2026-12-07), a table page visited a row. With the
-- conversation in the breaches' index and the brand and start in an index by conversation,
-- both are read from index pages alone (once vacuum has marked the pages all-visible: the conversations of the
-- last hours, still changing, are read from their rows). Neither column changes after a
-- conversation is created, so an update that was HOT stays HOT.
--
-- The covering index is built beside 0049's and takes its name once that one is dropped, so
-- the breaches are never without an index by time. Run again after a node died half way, the
-- three statements build it again and end the same.
CREATE INDEX CONCURRENTLY IF NOT EXISTS sla_breaches_breached_at_covering
    ON sla_breaches (breached_at) INCLUDE (conversation_id);
DROP INDEX CONCURRENTLY IF EXISTS sla_breaches_breached_at;
ALTER INDEX IF EXISTS sla_breaches_breached_at_covering RENAME TO sla_breaches_breached_at;
CREATE INDEX CONCURRENTLY IF NOT EXISTS conversations_brand_start
    ON conversations (id) INCLUDE (brand_id, created_at);
