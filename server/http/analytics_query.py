"""What a report request asks for, read from its path and query string and checked once:
the brand (one the caller may report on), the date range, the time zone, a bucket, a
breakdown, a filter, a page, the format. Every refusal names its parameter (422); a brand
the caller holds no role in is a 404, one where they hold another role a 403
(docs/access.md)."""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, cast
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.exceptions import HTTPException
from starlette.requests import Request

from nlu.rasa import BOT_UNAVAILABLE
from routing import decision, frustration, knowledge, risk
from server.errors import InvalidInput, NotFound
from server.http.inputs import path_value, query_value, services
from server.store import organisation
from server.store.analytics import BREAKDOWNS, BUCKETS, NONE, Breakdown, Bucket, Scope
from web_console import access
from web_console.port import Agent

Format = Literal["json", "csv"]
# A year of days is the longest range: longer ones are the data warehouse's job, and hourly
# buckets stop at 31 days (744 bars), past which a chart of them is unreadable.
MAX_DAYS = 366
MAX_HOURLY_DAYS = 31
DEFAULT_DAYS = 7
MAX_KEY = 200
FIRST_YEAR, LAST_YEAR = 2000, 2100
PAGE_MAX = 200
# A list's CSV (the conversations behind a figure, the CSAT comments) holds at most this many
# rows: a year of a busy brand's comments, a month's bar of conversations; built in memory.
EXPORT_MAX = 50_000
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
TIME_ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$")


@dataclass(frozen=True, slots=True)
class ReportBrand:
    id: UUID
    slug: str


async def report_brand(request: Request, agent: Agent) -> ReportBrand:
    """The path's brand, when the agent may read its reports: supervisors and analysts of
    it, admins. Another role there: 403; none there (or no such brand): 404."""
    slug = path_value(request, "brand")
    brand_id = None
    if SLUG.match(slug):
        async with services(request).pool.acquire() as conn:
            # No such brand: the same 404 as a brand the caller holds no role in, below.
            with suppress(NotFound):
                brand_id = await organisation.brand_id(conn, slug)
    held = agent.roles.get(str(brand_id), frozenset()) if brand_id else frozenset()
    if brand_id is None or not (agent.admin or held):
        raise HTTPException(404, f"no brand {slug!r}")
    if not agent.admin and not held & access.REPORTS:
        raise HTTPException(403, "reports are for the brand's supervisors and analysts")
    return ReportBrand(brand_id, slug)


def _day(request: Request, name: str) -> date | None:
    raw = query_value(request, name)
    if raw is None or raw == "":
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name}: {raw[:40]!r} is not a date (YYYY-MM-DD)") from None
    # Far from any conversation, and near the calendar's ends a day more would overflow.
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInput(f"{name}: a date from {FIRST_YEAR} to {LAST_YEAR}")
    return day


def _zone(request: Request) -> str:
    raw = query_value(request, "tz") or "UTC"
    try:
        if not TIME_ZONE.match(raw):
            raise ValueError(raw)
        ZoneInfo(raw)
    except (ValueError, ZoneInfoNotFoundError):
        raise InvalidInput(
            f"tz: {raw[:64]!r} is not a time zone (an IANA name: UTC, Europe/Paris)"
        ) from None
    return raw


def _filter(request: Request, name: str = "filter") -> tuple[Breakdown, str] | None:
    raw = query_value(request, name)
    if raw is None or raw == "":
        return None
    by, colon, key = raw.partition(":")
    if not colon or by not in BREAKDOWNS or not 1 <= len(key) <= MAX_KEY:
        raise InvalidInput(
            f"{name}: 'breakdown:value' with a breakdown among {', '.join(BREAKDOWNS)}"
            f" (e.g. channel:email)"
        )
    return by, key


def row(request: Request) -> tuple[Breakdown, str] | None:
    """A breakdown's row (``row=agent:<id>``) whose conversations a drill-down lists, within
    the report's own ``filter``: the row was counted among the filtered conversations, so
    its conversations are those with both keys."""
    return _filter(request, "row")


def scope(request: Request, brand: ReportBrand, now: datetime) -> Scope:
    """The range ``from`` .. ``to`` (whole days, ``to`` included) in time zone ``tz``; by
    default the last 7 days up to today."""
    tz = _zone(request)
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    last = _day(request, "to") or today
    first = _day(request, "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise InvalidInput("to: must not come before from")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(f"to: a range of at most {MAX_DAYS} days")
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    return Scope(brand.id, start, end, tz, now, _filter(request))


def bucket(request: Request, within: Scope) -> Bucket:
    raw = query_value(request, "bucket") or "day"
    if raw not in BUCKETS:
        raise InvalidInput(f"bucket: one of {', '.join(BUCKETS)}")
    # Counted in the viewer's calendar days, as the dashboard counts them: 31 days across a
    # clock change are 31 days and an hour in UTC.
    zone = ZoneInfo(within.tz)
    days = (within.end.astimezone(zone).date() - within.start.astimezone(zone).date()).days
    if raw == "hour" and days > MAX_HOURLY_DAYS:
        raise InvalidInput(f"bucket: hourly buckets for ranges of at most {MAX_HOURLY_DAYS} days")
    return raw


def breakdown(request: Request) -> Breakdown:
    raw = query_value(request, "by")
    if raw not in BREAKDOWNS:
        raise InvalidInput(f"by: one of {', '.join(BREAKDOWNS)}")
    return raw


# The most series a volume chart draws apart (the rest are one "other").
TOP_MAX = 20


def top(request: Request) -> int:
    """``top``: how many of the breakdown's keys the volume chart draws apart (1-20; default
    5, the chart's colours)."""
    raw = query_value(request, "top")
    if raw is None or raw == "":
        return 5
    if not (raw.isdigit() and len(raw) <= 2 and 1 <= int(raw) <= TOP_MAX):
        raise InvalidInput(f"top: an integer from 1 to {TOP_MAX}")
    return int(raw)


# Why a conversation went to a person, as the server records it: routing's decisions, what the
# customer's words showed, the knowledge base's, the NLU's failure; and "none", a conversation
# an agent took with no handoff recorded (the reasons table counts it so, docs/metrics.md).
# The bot project may name others (Rasa's {"handoff": reason} payload): those are known once
# recorded in the range (the reasons table lists them), so each of its rows drills down.
HANDOFF_REASONS: frozenset[str] = frozenset(
    (
        decision.NO_BOT,
        decision.REQUESTED_HUMAN,
        decision.LOW_CONFIDENCE,
        decision.NEGATIVE_SENTIMENT,
        decision.OUT_OF_SCOPE,
        decision.BOT_REQUESTED,
        decision.HUMAN_INTENT,
        decision.UNSUPPORTED_LANGUAGE,
        decision.VIP,
        decision.NLU_UNAVAILABLE,
        decision.AUTOMATED_SENDER,
        *risk.CATEGORIES,
        frustration.REPEATED_CONTACT,
        frustration.FRUSTRATION,
        frustration.COMPLEX_FIRST_MESSAGE,
        knowledge.KB_NOT_HELPFUL,
        knowledge.KB_NO_ANSWER,
        BOT_UNAVAILABLE,
        NONE,
    )
)


def handoff_reason(request: Request) -> str | None:
    """``handoff_reason``: the conversations behind the reasons table's row (those handed to
    a person whose first handoff had that reason). Its length is checked here; whether it is
    a reason at all, by ``known_reason`` (the bot's own reasons need the range's)."""
    raw = query_value(request, "handoff_reason")
    if raw is None or raw == "":
        return None
    if len(raw) > MAX_KEY:
        raise InvalidInput(f"handoff_reason: at most {MAX_KEY} characters")
    return raw


def known_reason(reason: str, recorded: set[str], name: str = "handoff_reason") -> str:
    """The reason, when the server records it or the range holds it (``recorded``: the
    reasons table's values); otherwise a 422 (the CLI's exit 2) that names the reasons."""
    if reason in HANDOFF_REASONS or reason in recorded:
        return reason
    others = sorted(recorded - HANDOFF_REASONS)
    besides = f"; in this range also {', '.join(others)}" if others else ""
    raise InvalidInput(
        f"{name}: {reason[:40]!r} is not a handoff reason: one of"
        f" {', '.join(sorted(HANDOFF_REASONS))}{besides}"
    )


def bar(request: Request, within: Scope) -> tuple[Bucket, datetime] | None:
    """A chart's bar: ``bucket`` and ``at``, the bucket's start in the report's time zone."""
    raw = query_value(request, "at")
    if raw is None or raw == "":
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"at: {raw[:40]!r} is not a bucket's start (YYYY-MM-DDTHH:MM)") from None
    if at.tzinfo is not None:
        raise InvalidInput("at: the bucket's local start, without a time zone (see tz)")
    return bucket(request, within), at


def breached(request: Request) -> bool:
    """``breached=1``: the conversations behind the SLA breaches chart's bar."""
    raw = query_value(request, "breached")
    if raw is None or raw in ("", "0"):
        return False
    if raw != "1":
        raise InvalidInput("breached: 1 (the conversations with an SLA breach) or 0")
    return True


def rating(request: Request) -> int | None:
    """``rating=1``..``5``: the conversations behind the CSAT ratings chart's bar."""
    raw = query_value(request, "rating")
    if raw is None or raw == "":
        return None
    if raw not in ("1", "2", "3", "4", "5"):
        raise InvalidInput("rating: an integer from 1 to 5")
    return int(raw)


def agent_filter(within: Scope) -> UUID | None:
    """The agent of an ``agent:<id>`` filter (the agents' load applies no other)."""
    if within.only is None:
        return None
    by, key = within.only
    if by != "agent":
        raise InvalidInput("filter: only agent:<id> applies to the agents' load")
    try:
        return UUID(key)
    except ValueError:
        raise InvalidInput(f"filter: {key[:40]!r} is not an agent's id") from None


def page(request: Request, fmt: Format = "json") -> tuple[int, int]:
    """``limit`` (1-200, default 50) and ``offset`` (default 0). A CSV without a limit is
    the whole list (the download of a table is all of it), up to ``EXPORT_MAX`` rows."""
    values = []
    whole = EXPORT_MAX if fmt == "csv" else 50
    for name, default, top in (("limit", whole, PAGE_MAX), ("offset", 0, 10_000_000)):
        raw = query_value(request, name)
        low = 1 if name == "limit" else 0
        if raw is None:
            values.append(default)
        elif raw.isdigit() and len(raw) <= 8 and low <= int(raw) <= top:
            values.append(int(raw))
        else:
            raise InvalidInput(f"{name}: an integer from {low} to {top}")
    return values[0], values[1]


def output(request: Request) -> Format:
    raw = query_value(request, "format") or "json"
    if raw not in ("json", "csv"):
        raise InvalidInput("format: json or csv")
    return cast("Format", raw)
