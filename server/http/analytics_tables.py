"""The reports' answers as tables: named columns and rows of plain values, which the API
gives as JSON (``{"columns": [...], "rows": [[...]]}``) and, with ``?format=csv``, as CSV. One
shape for every report means every table the dashboard shows under a chart downloads as the
same CSV."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from starlette.responses import Response

from server.http.responses import JSON
from server.store.analytics import Count, Figures, Group, Point, Reason
from server.store.analytics_live import AgentTime, AtRisk, Behind, Comment, Now
from server.store.analytics_load import Load
from server.store.analytics_volume import Volume

Cell = str | int | float | None

# The figures' columns, in the order a table shows them: (column, unit) where the unit says
# how the dashboard writes the number (seconds as a duration, a rate as a percentage).
FIGURE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("conversations", "count"),
    ("frt_human_p50", "seconds"),
    ("frt_human_p90", "seconds"),
    ("frt_any_p50", "seconds"),
    ("frt_any_p90", "seconds"),
    ("resolution_p50", "seconds"),
    ("resolution_p90", "seconds"),
    ("handle_p50", "seconds"),
    ("handle_p90", "seconds"),
    ("wait_p50", "seconds"),
    ("wait_p90", "seconds"),
    ("contained", "count"),
    ("containment_rate", "rate"),
    ("handed", "count"),
    ("handoff_rate", "rate"),
    ("fallback_rate", "rate"),
    ("kb_answer_rate", "rate"),
    ("kb_helpful_rate", "rate"),
    ("resolved", "count"),
    ("reopened", "count"),
    ("reopen_rate", "rate"),
    ("csat_average", "rating"),
    ("csat_answered", "count"),
    ("csat_response_rate", "rate"),
    ("csat_comments", "count"),
    ("with_sla", "count"),
    ("frt_attainment", "rate"),
    ("resolution_attainment", "rate"),
)


@dataclass(frozen=True, slots=True)
class Table:
    """Named columns, rows of cells, and each column's unit (count, seconds, rate, rating,
    text, time, id)."""

    columns: tuple[str, ...]
    units: tuple[str, ...]
    rows: list[list[Cell]]


def _figure_cells(f: Figures) -> list[Cell]:
    cells: list[Cell] = [getattr(f, name) for name, _unit in FIGURE_COLUMNS]
    return cells


FIGURE_UNITS = tuple(unit for _name, unit in FIGURE_COLUMNS)
FIGURE_NAMES = tuple(name for name, _unit in FIGURE_COLUMNS)


def totals(f: Figures) -> Table:
    """One row per figure: its name, value and unit (a spreadsheet reads it down)."""
    return Table(
        ("figure", "value", "unit"),
        ("text", "value", "text"),
        [[name, getattr(f, name), unit] for name, unit in FIGURE_COLUMNS],
    )


def series(points: list[Point]) -> Table:
    return Table(
        ("at", "messages", "breaches", *FIGURE_NAMES),
        ("time", "count", "count", *FIGURE_UNITS),
        [[p.at.isoformat(), p.messages, p.breaches, *_figure_cells(p.figures)] for p in points],
    )


def groups(rows: list[Group]) -> Table:
    return Table(
        ("key", "label", *FIGURE_NAMES),
        ("text", "text", *FIGURE_UNITS),
        [[g.key, g.label, *_figure_cells(g.figures)] for g in rows],
    )


def counts(name: str, rows: list[Count]) -> Table:
    return Table((name, "conversations"), ("text", "count"), [[c.value, c.count] for c in rows])


def reasons(rows: list[Reason]) -> Table:
    """Each reason's conversations, their rate (of the range's conversations) and share (of
    its handoffs)."""
    return Table(
        ("reason", "conversations", "rate", "share"),
        ("text", "count", "rate", "rate"),
        [[r.value, r.count, r.rate, r.share] for r in rows],
    )


def volume(rows: list[Volume]) -> Table:
    """A long table: one row per bucket and key (a spreadsheet pivots it)."""
    return Table(
        ("at", "key", "label", "conversations"),
        ("time", "text", "text", "count"),
        [[v.at.isoformat(), v.key, v.label, v.conversations] for v in rows],
    )


def heat_map(cells: list[tuple[int, int, int]]) -> Table:
    return Table(
        ("weekday", "hour", "conversations"),
        ("count", "count", "count"),
        [[w, h, n] for w, h, n in cells],
    )


def behind(rows: list[Behind]) -> Table:
    return Table(
        ("id", "created_at", "channel", "status", "subject", "contact", "intent", "band"),
        ("id", "time", "text", "text", "text", "text", "text", "text"),
        [
            [
                str(b.id),
                b.created_at.isoformat(),
                b.channel,
                b.status,
                b.subject,
                b.contact,
                b.intent,
                b.band,
            ]
            for b in rows
        ],
    )


def comments(rows: list[Comment]) -> Table:
    return Table(
        ("conversation_id", "answered_at", "rating", "comment", "agent", "intent", "channel"),
        ("id", "time", "count", "text", "text", "text", "text"),
        [
            [
                str(c.conversation_id),
                _iso(c.answered_at),
                c.rating,
                c.comment,
                c.agent,
                c.intent,
                c.channel,
            ]
            for c in rows
        ],
    )


# A name's parts, for a person's order: runs of digits, and each other character.
_PARTS = re.compile(r"\d+|.", re.DOTALL)


def name_order(name: str) -> tuple[tuple[int, int, str], ...]:
    """A name's key in the order the console's ``Intl.Collator(undefined, {numeric: true,
    sensitivity: "base"})`` gives (web_console/static/analytics/dashboard.js): a run of
    digits by its value ("Agent 9" before "Agent 10"), letters whatever their case and
    accents ("émile" beside "Emma"), and, as Unicode's collation ranks them, spaces before
    punctuation and symbols, before digits, before letters. Punctuation marks among
    themselves go by code point, where ICU has an order of its own ("a_b" before "a-b"):
    the one kind of difference found against Node's Intl over 25 names."""
    bare = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in bare if not unicodedata.combining(ch)).casefold()
    key: list[tuple[int, int, str]] = []
    for part in _PARTS.findall(bare):
        # isdecimal, not isdigit: "፩" and its kind are digits int() cannot read.
        if part.isdecimal():
            key.append((2, int(part), ""))
        elif part.isspace():
            key.append((0, 0, " "))
        elif part.isalpha():
            key.append((3, 0, part))
        else:
            key.append((1, 0, part))
    return tuple(key)


def agent_time(rows: list[AgentTime]) -> Table:
    """Most time online first (in whole seconds, as the table gives it); among equal times,
    names as a person reads them (``name_order``), as the dashboard shows them: the database
    sorts them as text ("Agent 10" before "Agent 9"), so the CSV and ``switchboard report
    agent-time`` did."""
    ordered = sorted(rows, key=lambda a: (-round(a.online), name_order(a.name), a.name, str(a.id)))
    return Table(
        ("agent", "online_seconds", "away_seconds"),
        ("text", "seconds", "seconds"),
        [[a.name, round(a.online), round(a.away)] for a in ordered],
    )


def agent_load(rows: list[Load]) -> Table:
    return Table(
        ("at", "agent_id", "agent", "average_held", "peak_held"),
        ("time", "id", "text", "value", "count"),
        [[r.at.isoformat(), str(r.agent_id), r.name, r.average, r.peak] for r in rows],
    )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _waited(now: datetime, since: datetime | None) -> int | None:
    return round((now - since).total_seconds()) if since else None


def now_teams(now: Now) -> Table:
    return Table(
        ("team", "queued", "oldest_queued_at", "longest_wait_seconds"),
        ("text", "count", "time", "seconds"),
        [
            [
                t.name,
                t.queued,
                _iso(t.oldest_queued_at),
                _waited(now.at, t.oldest_queued_at),
            ]
            for t in now.teams
        ],
    )


def now_figures(now: Now) -> dict[str, object]:
    """What the "now" answer carries beside its teams' table (the API's and the CLI's): the
    conversations waiting with no team and how long the first of them has, the agents
    online and away, the conversations at risk."""
    return {
        "at": now.at.isoformat(),
        "unrouted": now.unrouted,
        "unrouted_wait_seconds": _waited(now.at, now.unrouted_since),
        "agents_online": now.agents_online,
        "agents_away": now.agents_away,
        "at_risk": now.at_risk,
    }


def at_risk(now: datetime, rows: list[AtRisk]) -> Table:
    """``overdue_seconds``: how long past the deadline (negative: still to come)."""
    return Table(
        ("id", "first_response_due", "overdue_seconds", "contact", "subject", "channel",
         "status", "band", "team", "agent"),
        ("id", "time", "seconds", "text", "text", "text", "text", "text", "text", "text"),
        [
            [str(r.id), r.due.isoformat(), round((now - r.due).total_seconds()), r.contact,
             r.subject, r.channel, r.status, r.band, r.team, r.agent]
            for r in rows
        ],
    )  # fmt: skip


def _csv_cell(value: Cell) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell that starts with = + - @ as a formula: such cells get a
    # leading quote, as OWASP advises for CSV exports (as the audit log's CSV does).
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_body(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_csv_cell(c) for c in row])
    return out.getvalue()


def answer(table: Table, fmt: str, name: str, extra: dict[str, object] | None = None) -> Response:
    """The table as JSON (with ``extra`` beside it), or as a CSV download named ``name``."""
    if fmt == "csv":
        return Response(
            csv_body(table),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}.csv"'},
        )
    return JSON(
        {"columns": table.columns, "units": table.units, "rows": table.rows, **(extra or {})}
    )
