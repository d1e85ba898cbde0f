"""The supervisor reports' API, under /console/api/analytics (docs/metrics.md defines each
figure). Supervisors and analysts of a brand read its reports, admins every brand's; another
role in the brand is a 403, a brand where the caller holds no role a 404 (docs/access.md).
Every report is a table (server/http/analytics_tables.py): JSON, or CSV with ?format=csv.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.errors import InvalidInput
from server.http import analytics_query as q
from server.http import analytics_tables as tables
from server.http.analytics_definitions import definitions
from server.http.inputs import services
from server.http.responses import JSON
from server.store import analytics, analytics_live, analytics_load, analytics_volume
from web_console import access
from web_console.requests import current_agent

# The query parameters every report takes, spliced into each endpoint's docstring (the
# OpenAPI document reads them there: server/http/openapi.py).
RANGE = """      - {name: brand, in: path, required: true, schema: {type: string},
         description: the brand's slug}
      - {name: from, in: query, schema: {type: string, format: date},
         description: "first day (YYYY-MM-DD, in tz); default: 6 days before to"}
      - {name: to, in: query, schema: {type: string, format: date},
         description: "last day, included (YYYY-MM-DD, in tz); default: today"}
      - {name: tz, in: query, schema: {type: string},
         description: "IANA time zone of the days, buckets and heat map; default UTC"}
      - {name: filter, in: query, schema: {type: string},
         description: "only conversations whose breakdown key is this, e.g. channel:email,
           team:<id>, agent:<id>, intent:refund, language:fr, band:urgent"}
      - {name: format, in: query, schema: {type: string, enum: [json, csv]}}
"""
REFUSALS = """      401: {description: not logged in}
      403: {description: not a supervisor or analyst of the brand}
      404: {description: no such brand among yours}
      422: {description: "a bad from, to, tz, filter, format (or bucket, by, top, at, row,
        breached, rating, handoff_reason, limit, offset): the error names it"}
"""
TABLE = "{columns, units, rows}, or CSV"
PAGE = """      - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 200},
         description: "default 50; a CSV without limit is the whole list (at most 50,000)"}
      - {name: offset, in: query, schema: {type: integer, minimum: 0}}
"""


def _now() -> datetime:
    return datetime.now(UTC)


async def _setup(request: Request) -> tuple[q.ReportBrand, analytics.Scope, q.Format]:
    agent = await current_agent(request)
    brand = await q.report_brand(request, agent)
    scope = q.scope(request, brand, _now())
    await _known_to_postgres(request, scope.tz)
    return brand, scope, q.output(request)


_zones: frozenset[str] = frozenset()


async def _known_to_postgres(request: Request, tz: str) -> None:
    """Postgres reads the buckets in the zone: one Python knows but Postgres' own time-zone
    data does not would fail the query (a 500). Its names are read once."""
    global _zones
    if not _zones:
        async with services(request).pool.acquire() as conn:
            rows = await conn.fetch("SELECT name FROM pg_timezone_names")
        _zones = frozenset(r["name"] for r in rows) | {"UTC"}
    if tz not in _zones:
        raise InvalidInput(f"tz: {tz!r} is not a time zone this server's database knows")


def _name(brand: q.ReportBrand, what: str, scope: analytics.Scope) -> str:
    return f"{brand.slug}-{what}-{scope.start:%Y%m%d}"


async def brands(request: Request) -> Response:
    """
    summary: The brands whose reports you may read
    description: Supervisors and analysts see the brands where they hold those roles, admins
      every brand; with each brand's teams and agents (the breakdowns' names).
    responses:
      200: {description: "brands: id, slug, name, teams [{id, name}], agents [{id, name}]"}
      401: {description: not logged in}
      403: {description: supervisors, analysts and admins only}
    """
    agent = await current_agent(request)
    if not access.may_report(agent):
        raise HTTPException(403, "supervisors, analysts and admins only")
    mine = sorted(access.brands_where(agent, access.REPORTS))
    async with services(request).pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT b.id, b.slug, b.name,
                      coalesce((SELECT json_agg(json_build_object('id', t.id, 'name', t.name)
                                ORDER BY t.name) FROM teams t WHERE t.brand_id = b.id), '[]')
                        AS teams,
                      coalesce((SELECT json_agg(json_build_object('id', a.id, 'name', a.name)
                                ORDER BY a.name) FROM agents a WHERE EXISTS (
                                  SELECT 1 FROM brand_roles r WHERE r.agent_id = a.id
                                     AND r.brand_id = b.id AND r.role IN ('agent', 'supervisor'))
                               ), '[]') AS agents
                 FROM brands b WHERE $1 OR b.id::text = ANY($2::text[]) ORDER BY b.name""",
            agent.admin,
            mine,
        )
    return JSON(
        {
            "brands": [
                {
                    "id": r["id"],
                    "slug": r["slug"],
                    "name": r["name"],
                    "teams": _json(r["teams"]),
                    "agents": _json(r["agents"]),
                }
                for r in rows
            ]
        }
    )


def _json(raw: str) -> object:
    return orjson.loads(raw)


async def summary(request: Request) -> Response:
    """
    summary: A brand's figures over a range
    description: One row per figure of docs/metrics.md (durations in seconds as median and
      p90, rates from 0 to 1, null where nothing was counted).
    parameters:
    RANGE
    responses:
      200: {description: "TABLE"}
    REFUSALS
    """
    brand, scope, fmt = await _setup(request)
    async with services(request).pool.acquire() as conn:
        figures = await analytics.totals(conn, scope)
    return tables.answer(tables.totals(figures), fmt, _name(brand, "summary", scope))


async def series(request: Request) -> Response:
    """
    summary: A brand's figures per hour, day or week
    description: Each bucket's conversations (by when they started) with their figures, the
      messages written and SLA breaches that happened in it. `at` is the bucket's start in
      tz. Buckets with nothing are left out.
    parameters:
    RANGE
      - {name: bucket, in: query, schema: {type: string, enum: [hour, day, week]},
         description: "default day; hour for ranges of at most 31 days"}
    responses:
      200: {description: "TABLE"}
    REFUSALS
    """
    brand, scope, fmt = await _setup(request)
    size = q.bucket(request, scope)
    async with services(request).pool.acquire() as conn:
        points = await analytics.series(conn, scope, size)
    return tables.answer(tables.series(points), fmt, _name(brand, f"by-{size}", scope))


async def breakdown(request: Request) -> Response:
    """
    summary: A brand's figures per team, agent, channel, intent, language or priority band
    parameters:
    RANGE
      - {name: by, in: query, required: true,
         schema: {type: string, enum: [team, agent, channel, intent, language, band]}}
    responses:
      200: {description: "TABLE; key is the filter's value for that row"}
    REFUSALS
    """
    brand, scope, fmt = await _setup(request)
    by = q.breakdown(request)
    async with services(request).pool.acquire() as conn:
        rows = await analytics.breakdown(conn, scope, by)
    return tables.answer(tables.groups(rows), fmt, _name(brand, f"by-{by}", scope))


async def volume(request: Request) -> Response:
    """
    summary: Conversations per hour, day or week, split by a breakdown
    description: Each bucket's conversations (by when they started) per key of `by`, the
      `top` keys with the most conversations over the range each apart, the rest together as
      key `(other)`. One row per bucket and key with conversations, by bucket, then most
      first. `at` is the bucket's start in tz.
    parameters:
    RANGE
      - {name: bucket, in: query, schema: {type: string, enum: [hour, day, week]},
         description: "default day; hour for ranges of at most 31 days"}
      - {name: by, in: query, required: true,
         schema: {type: string, enum: [team, agent, channel, intent, language, band]}}
      - {name: top, in: query, schema: {type: integer, minimum: 1, maximum: 20},
         description: "default 5"}
    responses:
      200: {description: "TABLE"}
    REFUSALS
    """
    brand, scope, fmt = await _setup(request)
    size = q.bucket(request, scope)
    by = q.breakdown(request)
    top = q.top(request)
    async with services(request).pool.acquire() as conn:
        rows = await analytics_volume.volume(conn, scope, size, by, top)
    return tables.answer(tables.volume(rows), fmt, _name(brand, f"volume-by-{by}", scope))


async def heat_map(request: Request) -> Response:
    """
    summary: Conversations by weekday (1 Monday .. 7 Sunday) and hour, in tz
    parameters:
    RANGE
    responses:
      200: {description: "TABLE"}
    REFUSALS
    """
    brand, scope, fmt = await _setup(request)
    async with services(request).pool.acquire() as conn:
        cells = await analytics.heat_map(conn, scope)
    table = tables.heat_map([(c.weekday, c.hour, c.conversations) for c in cells])
    return tables.answer(table, fmt, _name(brand, "heat-map", scope))


async def reasons(request: Request) -> Response:
    """
    summary: Conversations handed to a human, by the first handoff's reason
    description: Each reason's conversations, its rate (of the range's conversations) and
      its share (of the range's handoffs), rates from 0 to 1 (docs/metrics.md, "Bot").
    parameters:
    RANGE
    responses:
      200: {description: "TABLE"}
    REFUSALS
    """
    brand, scope, fmt = await _setup(request)
    async with services(request).pool.acquire() as conn:
        rows = await analytics.handoff_rates(conn, scope)
    return tables.answer(tables.reasons(rows), fmt, _name(brand, "handoffs", scope))


async def ratings(request: Request) -> Response:
    """
    summary: How many CSAT ratings of 1 to 5
    parameters:
    RANGE
    responses:
      200: {description: "TABLE"}
    REFUSALS
    """
    brand, scope, fmt = await _setup(request)
    async with services(request).pool.acquire() as conn:
        rows = await analytics.csat_distribution(conn, scope)
    return tables.answer(tables.counts("rating", rows), fmt, _name(brand, "csat", scope))


async def conversations(request: Request) -> Response:
    """
    summary: The conversations behind a figure (a chart's bar, a breakdown's row)
    description: The range's conversations (with filter; in one bucket with bucket and at;
      in one breakdown's row with row), oldest first, a page at a time; `total` counts them
      all. With breached=1, those with an SLA breach in the range (or the bucket), whenever
      they started (the SLA breaches chart's bar). With rating, those whose CSAT answer is
      that rating (the ratings chart's bar). With handoff_reason, those handed to a person
      whose first handoff had that reason (the handoff reasons table's row). Each id opens
      in the console.
    parameters:
    RANGE
      - {name: row, in: query, schema: {type: string},
         description: "a breakdown's row, as filter (agent:<id>), applied besides filter"}
      - {name: breached, in: query, schema: {type: string, enum: ["0", "1"]}}
      - {name: rating, in: query, schema: {type: integer, minimum: 1, maximum: 5}}
      - {name: handoff_reason, in: query, schema: {type: string},
         description: "a handoff reason (the handoff-reasons table's reason: requested_human,
           low_confidence, none, ...); one the server does not know nor the range holds is
           a 422 that lists them"}
      - {name: bucket, in: query, schema: {type: string, enum: [hour, day, week]}}
      - {name: at, in: query, schema: {type: string},
         description: "the bucket's start in tz (YYYY-MM-DDTHH:MM), from the series' at"}
    PAGE
    responses:
      200: {description: "TABLE, total"}
    REFUSALS
    """
    brand, scope, fmt = await _setup(request)
    bar = q.bar(request, scope)
    row = q.row(request)
    breached = q.breached(request)
    rated = q.rating(request)
    reason = q.handoff_reason(request)
    limit, offset = q.page(request, fmt)
    async with services(request).pool.acquire() as conn:
        if reason is not None and reason not in q.HANDOFF_REASONS:
            # One the bot project named: known if the range (any filter) recorded it.
            whole = replace(scope, only=None)
            q.known_reason(reason, {r.value for r in await analytics.handoff_rates(conn, whole)})
        rows, total = await analytics_live.conversations(
            conn, scope, bar, limit, offset, row, breached, rated, reason
        )
    return tables.answer(
        tables.behind(rows), fmt, _name(brand, "conversations", scope), {"total": total}
    )


async def csat_comments(request: Request) -> Response:
    """
    summary: The CSAT ratings given with a comment
    description: The comments of the ratings the report counts (its conversations, with
      filter; the summary's csat_comments is how many), newest first, a page at a time, with
      the rating, the agent it belongs to, the conversation's intent and channel; `total`
      counts them all. Each conversation_id opens in the console.
    parameters:
    RANGE
    PAGE
    responses:
      200: {description: "TABLE, total"}
    REFUSALS
    """
    brand, scope, fmt = await _setup(request)
    limit, offset = q.page(request, fmt)
    async with services(request).pool.acquire() as conn:
        rows, total = await analytics_live.csat_comments(conn, scope, limit, offset)
    return tables.answer(
        tables.comments(rows), fmt, _name(brand, "csat-comments", scope), {"total": total}
    )


async def agent_time(request: Request) -> Response:
    """
    summary: Each agent's time online and away over the range
    description: From the agents' recorded status changes (each status lasts until the next);
      the filter does not apply. Seconds.
    parameters:
    RANGE
    responses:
      200: {description: "TABLE"}
    REFUSALS
    """
    brand, scope, fmt = await _setup(request)
    async with services(request).pool.acquire() as conn:
        rows = await analytics_live.agent_time(conn, brand.id, scope.start, scope.end, _now())
    return tables.answer(tables.agent_time(rows), fmt, _name(brand, "agent-time", scope))


async def agent_load(request: Request) -> Response:
    """
    summary: Each agent's conversations held over time
    description: Per bucket and agent, the average number of conversations held (time held
      over the bucket's length, up to now) and the peak held at once, from each assignment
      to the conversation's next change of hands (docs/metrics.md, "Load"). Buckets where an
      agent held nothing are left out. The filter applies when it is agent:<id>; other
      filters are refused.
    parameters:
    RANGE
      - {name: bucket, in: query, schema: {type: string, enum: [hour, day, week]},
         description: "default day; hour for ranges of at most 31 days"}
    responses:
      200: {description: "TABLE"}
    REFUSALS
    """
    brand, scope, fmt = await _setup(request)
    size = q.bucket(request, scope)
    agent = q.agent_filter(scope)
    async with services(request).pool.acquire() as conn:
        rows = await analytics_load.agent_load(
            conn, brand.id, scope.start, scope.end, scope.tz, _now(), size, agent
        )
    return tables.answer(tables.agent_load(rows), fmt, _name(brand, f"agent-load-{size}", scope))


async def now(request: Request) -> Response:
    """
    summary: The brand's queues and agents now
    description: Per team, conversations waiting and the longest wait; conversations waiting
      with no team and the longest of their waits; agents online and away; conversations at
      risk (first-response deadline within 5 minutes or passed, no agent reply).
    parameters:
      - {name: brand, in: path, required: true, schema: {type: string}}
      - {name: format, in: query, schema: {type: string, enum: [json, csv]}}
    responses:
      200: {description: "TABLE of teams, with unrouted, unrouted_wait_seconds, agents_online,
        agents_away, at_risk"}
      401: {description: not logged in}
      403: {description: not a supervisor or analyst of the brand}
      404: {description: no such brand among yours}
      422: {description: a bad format}
    """
    agent = await current_agent(request)
    brand = await q.report_brand(request, agent)
    fmt = q.output(request)
    async with services(request).pool.acquire() as conn:
        found = await analytics_live.now(conn, brand.id, _now())
    return tables.answer(
        tables.now_teams(found), fmt, f"{brand.slug}-now", tables.now_figures(found)
    )


async def at_risk(request: Request) -> Response:
    """
    summary: The brand's conversations at risk now
    description: The open conversations the "now" figures count as at risk (first-response
      deadline within 5 minutes or passed, no agent reply yet), the most overdue first, with
      their team and agent; at most limit (default 50; a CSV without limit, all of them, at
      most 50,000).
    parameters:
      - {name: brand, in: path, required: true, schema: {type: string}}
      - {name: format, in: query, schema: {type: string, enum: [json, csv]}}
      - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 200}}
    responses:
      200: {description: "TABLE"}
      401: {description: not logged in}
      403: {description: not a supervisor or analyst of the brand}
      404: {description: no such brand among yours}
      422: {description: a bad format or limit}
    """
    agent = await current_agent(request)
    brand = await q.report_brand(request, agent)
    fmt = q.output(request)
    limit, _offset = q.page(request, fmt)
    at = _now()
    async with services(request).pool.acquire() as conn:
        rows = await analytics_live.at_risk(conn, brand.id, at, limit)
    return tables.answer(tables.at_risk(at, rows), fmt, f"{brand.slug}-at-risk")


def _document(*endpoints: Callable[[Request], object]) -> None:
    for endpoint in endpoints:
        doc = endpoint.__doc__ or ""
        endpoint.__doc__ = (
            doc.replace("    RANGE\n", RANGE)
            .replace("    REFUSALS\n", REFUSALS)
            .replace("    PAGE\n", PAGE)
            .replace("TABLE", TABLE)
        )


_document(
    summary,
    series,
    breakdown,
    volume,
    heat_map,
    reasons,
    ratings,
    conversations,
    csat_comments,
    agent_time,
    agent_load,
    now,
    at_risk,
)

BRAND = "/api/analytics/brands/{brand}"
routes = [
    Route("/api/analytics/brands", brands, methods=["GET"]),
    Route("/api/analytics/definitions", definitions, methods=["GET"]),
    Route(f"{BRAND}/summary", summary, methods=["GET"]),
    Route(f"{BRAND}/series", series, methods=["GET"]),
    Route(f"{BRAND}/breakdown", breakdown, methods=["GET"]),
    Route(f"{BRAND}/volume", volume, methods=["GET"]),
    Route(f"{BRAND}/heat-map", heat_map, methods=["GET"]),
    Route(f"{BRAND}/handoff-reasons", reasons, methods=["GET"]),
    Route(f"{BRAND}/csat", ratings, methods=["GET"]),
    Route(f"{BRAND}/csat-comments", csat_comments, methods=["GET"]),
    Route(f"{BRAND}/conversations", conversations, methods=["GET"]),
    Route(f"{BRAND}/agent-time", agent_time, methods=["GET"]),
    Route(f"{BRAND}/agent-load", agent_load, methods=["GET"]),
    Route(f"{BRAND}/now", now, methods=["GET"]),
    Route(f"{BRAND}/at-risk", at_risk, methods=["GET"]),
]
