-- The SLA breaches drill-down finds a range's breaches by when they happened (issue 20's
-- dashboard; the query is server/store/analytics_live.py's, the figures docs/metrics.md's).
CREATE INDEX sla_breaches_breached_at ON sla_breaches (breached_at);
