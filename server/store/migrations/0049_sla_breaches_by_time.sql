-- The SLA breaches drill-down finds its breaches by when they happened (issue 20).
--
-- Analytics' "breached" list (server/store/analytics_live.py) asks for the conversations with a
-- breach in the range; with nothing but the (conversation, kind, due) key, PostgreSQL read every
-- breach of every brand for it. At 1,000,000 conversations (60,000 breaches, /tmp measurement
-- of the issue 20 history): a 7-day range took 858 ms at p50, and 49 ms with this index; a
-- day's bar 10 ms and 7 ms. A breach is written once per missed deadline, so the index costs
-- the write path one entry per breach, not per message.
CREATE INDEX sla_breaches_breached_at ON sla_breaches (breached_at);
