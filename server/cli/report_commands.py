"""`switchboard report`: the supervisor reports (docs/metrics.md) on the command line, a
brand's figures over a range of days, as the console's Analytics tab and its API
(/console/api/analytics) give them. The figures come from the same store functions
(server/store/analytics.py) and each table is the API's table, so ``--csv`` writes the same
CSV the dashboard downloads (with spreadsheet-formula quoting) and ``--json`` the same
columns and rows.

A bad date, range, time zone or brand is one line on stderr and exit status 2
(server/cli/command.py).
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from server.cli import report_output as output
from server.cli.command import run
from server.cli.command import settings as cli_settings

if TYPE_CHECKING:
    from server.http.analytics_tables import Cell, Table
    from server.store.analytics import Breakdown, Bucket, Scope
    from server.store.views import Conn

report_cli = typer.Typer(
    help="A brand's reports (docs/metrics.md) over a range of days: figures and tables.",
    no_args_is_help=True,
)

# The figures `report summary` prints as its table (--json and --csv give every figure).
HEADLINE: tuple[str, ...] = (
    "conversations",
    "frt_human_p50",
    "frt_human_p90",
    "frt_any_p50",
    "frt_any_p90",
    "resolution_p50",
    "resolution_p90",
    "containment_rate",
    "handoff_rate",
    "csat_average",
    "csat_response_rate",
    "frt_attainment",
    "resolution_attainment",
    "reopen_rate",
)

Brand = Annotated[
    str | None,
    typer.Option("--brand", help="The brand's slug (the only brand when there is one)."),
]
From = Annotated[
    str | None,
    typer.Option("--from", help="First day, YYYY-MM-DD in --tz (default: 6 days before --to)."),
]
To = Annotated[
    str | None, typer.Option("--to", help="Last day, included, YYYY-MM-DD (default: today).")
]
Zone = Annotated[
    str, typer.Option("--tz", help="IANA time zone of the days and buckets (UTC, Europe/Paris).")
]
Filter = Annotated[
    str | None,
    typer.Option(
        "--filter",
        help="Only conversations whose breakdown key is this: channel:email, intent:refund,"
        " team:<id>, agent:<id>, language:fr, band:urgent.",
    ),
]
Csv = Annotated[bool, typer.Option("--csv", help="The table as CSV (as the dashboard exports).")]
Json = Annotated[bool, typer.Option("--json", help="The table as JSON (as the API answers).")]


@dataclass(frozen=True, slots=True)
class Asked:
    """The range as typed on the command line, checked once connected (the zone against
    Postgres' own time-zone names, the brand against the brands)."""

    brand: str | None
    first: str | None
    last: str | None
    tz: str
    only: str | None = None


def _day(option: str, raw: str | None) -> date | None:
    from server.errors import InvalidInput
    from server.http.analytics_query import FIRST_YEAR, LAST_YEAR

    if raw is None or raw == "":
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{option}: {raw[:40]!r} is not a date (YYYY-MM-DD)") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInput(f"{option}: a date from {FIRST_YEAR} to {LAST_YEAR}")
    return day


def _only(raw: str | None) -> tuple[Breakdown, str] | None:
    """``--filter breakdown:value``, as the API's ``filter``."""
    from server.errors import InvalidInput
    from server.http.analytics_query import MAX_KEY
    from server.store.analytics import BREAKDOWNS

    if raw is None or raw == "":
        return None
    by, colon, key = raw.partition(":")
    if not colon or not 1 <= len(key) <= MAX_KEY:
        raise InvalidInput("--filter: breakdown:value (e.g. channel:email)")
    for known in BREAKDOWNS:
        if by == known:
            return known, key
    raise InvalidInput(f"--filter: the breakdown is one of {', '.join(BREAKDOWNS)}, not {by!r}")


async def _scope(conn: Conn, asked: Asked) -> Scope:
    """The API's scope (server/http/analytics_query.py) from the command's options: whole
    days in the zone, --to included, at most a year; the brand by its slug."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from server.errors import InvalidInput
    from server.http.analytics_query import DEFAULT_DAYS, MAX_DAYS, TIME_ZONE
    from server.store import organisation
    from server.store.analytics import Scope

    try:
        if not TIME_ZONE.match(asked.tz):
            raise ValueError(asked.tz)
        zone = ZoneInfo(asked.tz)
    except (ValueError, ZoneInfoNotFoundError):
        raise InvalidInput(
            f"--tz: {asked.tz[:64]!r} is not a time zone (an IANA name: UTC, Europe/Paris)"
        ) from None
    # Postgres reads the buckets in the zone: one Python knows and it does not would fail
    # the query instead of saying so.
    known = await conn.fetchval(
        "SELECT $1 = 'UTC' OR EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)", asked.tz
    )
    if not known:
        raise InvalidInput(f"--tz: {asked.tz!r} is not a time zone this server's database knows")
    now = datetime.now(UTC)
    last = _day("--to", asked.last) or now.astimezone(zone).date()
    first = _day("--from", asked.first) or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise InvalidInput(f"--to: {last} comes before --from {first}")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(
            f"--to: a range of at most {MAX_DAYS} days, not {(last - first).days + 1}"
        )
    brand_id = await organisation.brand_id(conn, asked.brand)
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    return Scope(brand_id, start, end, asked.tz, now, _only(asked.only))


def _check_output(csv: bool, json: bool) -> None:
    if csv and json:
        typer.secho("error: --csv or --json, not both", err=True, fg="red")
        raise typer.Exit(2)


@report_cli.callback(invoke_without_command=True)
def report(
    ctx: typer.Context,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="team, agent, channel, intent, language or band: that breakdown's table"
            " (the `breakdown` command); without it, the summary.",
        ),
    ] = None,
    brand: Brand = None, first: From = None, last: To = None, tz: Zone = "UTC",
    only: Filter = None,
    csv: Csv = False, json: Json = False,
) -> None:  # fmt: skip
    """`switchboard report --from D --to D --brand B --by team [--csv]` prints a breakdown's
    table, and without --by the summary (issue 20's form); the commands below give each
    table, their options after the command's name."""
    given = any((by, brand, first, last, only, csv, json)) or tz != "UTC"
    if ctx.invoked_subcommand is not None:
        if given:
            typer.secho(
                f"error: the options go after the command: switchboard report"
                f" {ctx.invoked_subcommand} --from ...",
                err=True,
                fg="red",
            )
            raise typer.Exit(2)
        return
    if by is None:
        summary(brand, first, last, tz, only, csv, json)
    else:
        breakdown(by, brand, first, last, tz, only, csv, json)


@report_cli.command("summary")
def summary(
    brand: Brand = None, first: From = None, last: To = None, tz: Zone = "UTC",
    only: Filter = None,
    csv: Csv = False, json: Json = False,
) -> None:  # fmt: skip
    """The headline figures: conversations, first response and resolution times (median and
    p90), containment, handoff rate, CSAT, SLA attainment, reopen rate."""
    from server import bootstrap
    from server.http.analytics_tables import FIGURE_COLUMNS, totals
    from server.store import analytics, organisation

    _check_output(csv, json)
    settings = cli_settings()
    asked = Asked(brand, first, last, tz, only)

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool, pool.acquire() as conn:
            scope = await _scope(conn, asked)
            figures = await analytics.totals(conn, scope)
            # Without --brand there is one brand (_scope checked): the JSON names it too.
            slug = asked.brand or str((await organisation.brands(conn))[0]["slug"])
        table = totals(figures)
        if json:
            from zoneinfo import ZoneInfo

            import orjson

            zone = ZoneInfo(scope.tz)
            document = {
                "brand": slug,
                "from": scope.start.astimezone(zone).date().isoformat(),
                "to": (scope.end.astimezone(zone) - timedelta(days=1)).date().isoformat(),
                "tz": scope.tz,
                "figures": {name: getattr(figures, name) for name, _unit in FIGURE_COLUMNS},
            }
            sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
        elif csv:
            output.write(table, csv=True, json=False)
        else:
            headline = [r for r in table.rows if r[0] in HEADLINE]
            rows: list[list[Cell]] = [[r[0], output.shown(r[1], str(r[2]))] for r in headline]
            print(output.text(type(table)(("figure", "value"), ("text", "text"), rows)))

    run(main)


@report_cli.command("series")
def series(
    brand: Brand = None, first: From = None, last: To = None, tz: Zone = "UTC",
    only: Filter = None,
    bucket: Annotated[str, typer.Option(help="hour, day or week.")] = "day",
    csv: Csv = False, json: Json = False,
) -> None:  # fmt: skip
    """The figures per hour, day or week (conversations by when they started)."""
    from server.errors import InvalidInput
    from server.http import analytics_tables as tables
    from server.http.analytics_query import MAX_HOURLY_DAYS
    from server.store import analytics

    _check_output(csv, json)

    async def read(conn: Conn, scope: Scope) -> Table:
        if bucket not in analytics.BUCKETS:
            raise InvalidInput(f"--bucket: one of {', '.join(analytics.BUCKETS)}, not {bucket!r}")
        if bucket == "hour" and scope.end - scope.start > timedelta(days=MAX_HOURLY_DAYS):
            raise InvalidInput(
                f"--bucket: hourly buckets for ranges of at most {MAX_HOURLY_DAYS} days"
            )
        size: Bucket = bucket  # checked above
        return tables.series(await analytics.series(conn, scope, size))

    _table(Asked(brand, first, last, tz, only), read, csv, json, ("at", "messages", *HEADLINE))


@report_cli.command("breakdown")
def breakdown(
    by: Annotated[str, typer.Option(help="team, agent, channel, intent, language or band.")],
    brand: Brand = None, first: From = None, last: To = None, tz: Zone = "UTC",
    only: Filter = None,
    csv: Csv = False, json: Json = False,
) -> None:  # fmt: skip
    """The figures per team, agent, channel, intent, language or priority band."""
    from server.errors import InvalidInput
    from server.http import analytics_tables as tables
    from server.store import analytics

    _check_output(csv, json)

    async def read(conn: Conn, scope: Scope) -> Table:
        if by not in analytics.BREAKDOWNS:
            raise InvalidInput(f"--by: one of {', '.join(analytics.BREAKDOWNS)}, not {by!r}")
        key: Breakdown = by  # checked above
        return tables.groups(await analytics.breakdown(conn, scope, key))

    _table(Asked(brand, first, last, tz, only), read, csv, json, ("label", *HEADLINE))


@report_cli.command("heat-map")
def heat_map(
    brand: Brand = None, first: From = None, last: To = None, tz: Zone = "UTC",
    only: Filter = None,
    csv: Csv = False, json: Json = False,
) -> None:  # fmt: skip
    """Conversations by weekday (1 Monday .. 7 Sunday) and hour, in --tz."""
    from server.http import analytics_tables as tables
    from server.store import analytics

    _check_output(csv, json)

    async def read(conn: Conn, scope: Scope) -> Table:
        cells = await analytics.heat_map(conn, scope)
        return tables.heat_map([(c.weekday, c.hour, c.conversations) for c in cells])

    _table(Asked(brand, first, last, tz, only), read, csv, json)


@report_cli.command("handoff-reasons")
def handoff_reasons(
    brand: Brand = None, first: From = None, last: To = None, tz: Zone = "UTC",
    only: Filter = None,
    csv: Csv = False, json: Json = False,
) -> None:  # fmt: skip
    """Conversations handed to a human, by the first handoff's reason."""
    from server.http import analytics_tables as tables
    from server.store import analytics

    _check_output(csv, json)

    async def read(conn: Conn, scope: Scope) -> Table:
        return tables.reasons(await analytics.handoff_rates(conn, scope))

    _table(Asked(brand, first, last, tz, only), read, csv, json)


@report_cli.command("csat")
def csat(
    brand: Brand = None, first: From = None, last: To = None, tz: Zone = "UTC",
    only: Filter = None,
    csv: Csv = False, json: Json = False,
) -> None:  # fmt: skip
    """How many CSAT ratings of 1 to 5."""
    from server.http import analytics_tables as tables
    from server.store import analytics

    _check_output(csv, json)

    async def read(conn: Conn, scope: Scope) -> Table:
        return tables.counts("rating", await analytics.csat_distribution(conn, scope))

    _table(Asked(brand, first, last, tz, only), read, csv, json)


@report_cli.command("agent-time")
def agent_time(
    brand: Brand = None, first: From = None, last: To = None, tz: Zone = "UTC",
    csv: Csv = False, json: Json = False,
) -> None:  # fmt: skip
    """Each agent's time online and away over the range (the API's agent-time; no filter)."""
    from server.http import analytics_tables as tables
    from server.store import analytics_live

    _check_output(csv, json)

    async def read(conn: Conn, scope: Scope) -> Table:
        rows = await analytics_live.agent_time(
            conn, scope.brand_id, scope.start, scope.end, scope.now
        )
        return tables.agent_time(rows)

    _table(Asked(brand, first, last, tz), read, csv, json)


@report_cli.command("agent-load")
def agent_load(
    bucket: Annotated[str, typer.Option(help="hour, day or week.")] = "day",
    brand: Brand = None, first: From = None, last: To = None, tz: Zone = "UTC",
    only: Filter = None,
    csv: Csv = False, json: Json = False,
) -> None:  # fmt: skip
    """Each agent's conversations held per bucket: average and peak (the API's agent-load;
    --filter agent:<id> only)."""
    from uuid import UUID

    from server.errors import InvalidInput
    from server.http import analytics_tables as tables
    from server.store import analytics, analytics_load

    _check_output(csv, json)

    async def read(conn: Conn, scope: Scope) -> Table:
        if bucket not in analytics.BUCKETS:
            raise InvalidInput(f"--bucket: one of {', '.join(analytics.BUCKETS)}, not {bucket!r}")
        agent = None
        if scope.only is not None:
            by, key = scope.only
            try:
                agent = UUID(key) if by == "agent" else None
            except ValueError:
                raise InvalidInput(f"--filter: {key[:40]!r} is not an agent's id") from None
            if agent is None:
                raise InvalidInput("--filter: only agent:<id> applies to the agents' load")
        size: Bucket = bucket  # checked above
        rows = await analytics_load.agent_load(
            conn, scope.brand_id, scope.start, scope.end, scope.tz, scope.now, size, agent
        )
        return tables.agent_load(rows)

    _table(Asked(brand, first, last, tz, only), read, csv, json)


def _table(
    asked: Asked,
    read: Callable[[Conn, Scope], Awaitable[Table]],
    csv: bool,
    json: bool,
    keep: tuple[str, ...] | None = None,
) -> None:
    """Connect, check the range, read the table and write it as text, CSV or JSON."""
    from server import bootstrap

    settings = cli_settings()

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool, pool.acquire() as conn:
            table = await read(conn, await _scope(conn, asked))
        output.write(table, csv, json, keep)

    run(main)


@report_cli.command("conversations")
def conversations(
    brand: Brand = None, first: From = None, last: To = None, tz: Zone = "UTC",
    only: Filter = None,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Conversations a page.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Conversations to skip.")] = 0,
    reason: Annotated[
        str | None,
        typer.Option(
            "--handoff-reason",
            help="Only those handed to a person for this reason (a row of handoff-reasons).",
        ),
    ] = None,
    csv: Csv = False, json: Json = False,
) -> None:  # fmt: skip
    """The conversations behind a figure (--filter picks a breakdown's row, --handoff-reason
    a row of handoff-reasons), oldest first, a page at a time, with how many there are in
    all."""
    from dataclasses import replace

    from server import bootstrap
    from server.http import analytics_tables as tables
    from server.http.analytics_query import HANDOFF_REASONS, known_reason
    from server.store import analytics, analytics_live

    _check_output(csv, json)
    settings = cli_settings()
    asked = Asked(brand, first, last, tz, only)

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool, pool.acquire() as conn:
            scope = await _scope(conn, asked)
            if reason is not None and reason not in HANDOFF_REASONS:
                whole = replace(scope, only=None)
                recorded = {r.value for r in await analytics.handoff_rates(conn, whole)}
                known_reason(reason, recorded, "--handoff-reason")
            rows, total = await analytics_live.conversations(
                conn, scope, None, limit, offset, reason=reason
            )
        output.write(tables.behind(rows), csv, json, extra={"total": total})

    run(main)


@report_cli.command("now")
def now(brand: Brand = None, csv: Csv = False, json: Json = False) -> None:
    """The brand's queues now: waiting and longest wait per team, conversations waiting with
    no team, agents online and away, conversations at risk."""
    from server import bootstrap
    from server.http import analytics_tables as tables
    from server.store import analytics_live, organisation

    _check_output(csv, json)
    settings = cli_settings()

    async def main() -> None:
        async with bootstrap.database_only(settings) as pool, pool.acquire() as conn:
            brand_id = await organisation.brand_id(conn, brand)
            found = await analytics_live.now(conn, brand_id, datetime.now(UTC))
        output.write(tables.now_teams(found), csv, json, extra=tables.now_figures(found))

    run(main)
