"""The SQL of a report's roll-up rows (server/store/analytics_rollups.py reads them): a
plan's ranges from the per-hour and per-day tables and from the facts' functions, as one
set of rows of the tables' shape."""

from __future__ import annotations

# Metric numbers of analytics_hour_durations.
METRICS = {1: "frt_human", 2: "frt_any", 3: "resolution", 4: "handle", 5: "wait"}
COUNTS = (
    "conversations",
    "contained_settled",
    "bot_open",
    "handed",
    "bot_replied",
    "fell_back",
    "kb_answered",
    "kb_helpful",
    "kb_not_helpful",
    "resolved",
    "resolved_ever",
    "reopened",
    "csat_asked",
    "csat_answered",
    "csat_sum",
    "csat_comments",
    "with_sla",
    "frt_met",
    "resolution_met",
)


# The roll-up rows of a plan: each range of hours and of days from its tier's table (a range
# scan of its key each), the rest computed; a day's row stands at its UTC midnight in column
# ``hour``. $1 brand, $2 dim, $3 key (NULL: any) or the filter's half of a pair's keys,
# $4/$5 the hours' ranges, $6/$7 the days', $8/$9 the facts' and $10 their signs (-1: a
# Plan's ``less``, subtracted). ``match`` picks the rows of the key ``{k}`` (a Plan's
# ``half``); ``signed`` is the columns of a computed row ``x`` times its range's sign ``r.s``.
# A pair's match also names the half of the key that migration 0055 indexes, so the days
# are read by that index: only the rows of the filter's value, where the primary key walked
# every key of the pair a day and dropped the others (at a million conversations, 72,648
# histogram rows of 120,372 for "only English, by agent" over 30 days). That condition holds
# for every row the exact match takes when the value has no '|' (the migration says why);
# for a value holding one it is left out (the read plans for its values, READ_COSTS, so the
# test of $3 is folded away before the index is chosen).
#
# Only an intent's name may hold '|' (teams and agents are ids; channels, languages and bands
# are fixed names), so at most one half of a pair's key holds one, and the key splits one way
# only: the half that is not an intent holds none. A filter on an intent therefore takes only
# the rows whose other half holds no '|' ("only billing", by agent, is not agent 5's row
# "5|billing|refund", whose intent is billing|refund, nor may that row be grouped as agent
# "5|billing"); a filter on anything else takes none when its value holds one.
# ``OTHER`` is the half a read groups by (analytics_rollups._key).
OTHER = {1: "substr({k}, length($3) + 2)", 2: "left({k}, length({k}) - length($3) - 1)"}
_HALVES = {
    1: "starts_with({k}, $3 || '|') AND (strpos($3, '|') > 0 OR split_part({k}, '|', 1) = $3)",
    2: "right({k}, length($3) + 1) = '|' || $3"
    " AND (strpos($3, '|') > 0 OR split_part({k}, '|', -1) = $3)",
}
# A match by (half, whether the filter is an intent): (0, False) the whole key (or any).
Match = tuple[int, bool]
WHOLE: Match = (0, False)
MATCHES: dict[Match, str] = {WHOLE: "($3::text IS NULL OR {k} = $3)"} | {
    (half, intent): f"{m} AND "
    + (f"strpos({OTHER[half]}, '|') = 0" if intent else "strpos($3, '|') = 0")
    for half, m in _HALVES.items()
    for intent in (False, True)
}


def _rows(hours: str, days: str, function: str, match: str, signed: str) -> str:
    return f"""
    SELECT t.* FROM unnest($4::timestamptz[], $5::timestamptz[]) r(a, b),
           LATERAL (SELECT * FROM {hours} h
                     WHERE h.brand_id = $1 AND h.dim = $2 AND {match.format(k="h.key")}
                       AND h.hour >= r.a AND h.hour < r.b) t
    UNION ALL
    SELECT t.* FROM unnest($6::timestamptz[], $7::timestamptz[]) r(a, b),
           LATERAL (SELECT * FROM {days} d
                     WHERE d.brand_id = $1 AND d.dim = $2 AND {match.format(k="d.key")}
                       AND d.day >= r.a AND d.day < r.b) t
    UNION ALL
    SELECT x.brand_id, x.hour, x.dim, x.key, {signed}
      FROM unnest($8::timestamptz[], $9::timestamptz[], $10::int[]) r(a, b, s),
           LATERAL {function} x
     WHERE x.dim = $2 AND {match.format(k="x.key")}"""


# A computed row's columns, in their table's order, times its range's sign: the counts, the
# ratings' five counts and the handoff reasons' counts.
_COUNTS_SIGNED = ", ".join(
    [f"r.s * x.{c}" for c in COUNTS]
    + [
        "ARRAY[" + ", ".join(f"r.s * x.ratings[{n}]" for n in range(1, 6)) + "]",
        """CASE WHEN r.s > 0 THEN x.reasons
                ELSE (SELECT coalesce(jsonb_object_agg(e.key, -e.value::int), '{}'::jsonb)
                        FROM jsonb_each_text(x.reasons) e) END""",
    ]
)
# A pair's rows (a match of half 1 or 2) from the facts come from migration 0052's
# functions of one pair.
ROWS = {
    which: _rows(
        "analytics_hours",
        "analytics_days",
        "analytics_pair_hours_of($1, r.a, r.b, $2)"
        if which[0]
        else "analytics_hours_of($1, r.a, r.b)",
        m,
        _COUNTS_SIGNED,
    )
    for which, m in MATCHES.items()
}
DURATIONS = {
    which: _rows(
        "analytics_hour_durations",
        "analytics_day_durations",
        "analytics_pair_durations_of($1, r.a, r.b, $2)"
        if which[0]
        else "analytics_durations_of($1, r.a, r.b)",
        m,
        "x.metric, x.bucket, r.s * x.n",
    )
    for which, m in MATCHES.items()
}
# Messages and breaches are not kept per pair (migration 0051): only whole keys.
ACTIVITY = _rows(
    "analytics_activity_hours",
    "analytics_activity_days",
    "analytics_activity_of($1, r.a, r.b)",
    MATCHES[WHOLE],
    "r.s * x.messages, r.s * x.breaches",
)
# The report's time zone, after a plan's ten arguments (analytics_rollups._args).
TZ = "$11"


__all__ = [
    "ACTIVITY",
    "COUNTS",
    "DURATIONS",
    "MATCHES",
    "METRICS",
    "OTHER",
    "ROWS",
    "TZ",
    "WHOLE",
    "Match",
]
