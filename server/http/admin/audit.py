"""The admin API's audit log: who did what and when, filtered, as JSON pages or a CSV
download; and ``note``, with which the other admin routes record their own changes."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from uuid import UUID

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from server.errors import InvalidInput
from server.http.auth import actor_of
from server.http.inputs import query_value, services
from server.http.responses import JSON
from server.store import audit
from server.store import organisation as org
from server.store.audit import AuditEntry, AuditQuery
from server.store.views import Conn

BIGINT_MAX = 2**63 - 1
MAX_LIMIT = 1000
# A CSV export reads this many entries per query.
CSV_PAGE = 1000
TARGET_KIND = re.compile(r"^[a-z0-9_]{1,40}$")
CSV_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "brand_id",
    "target_kind",
    "target_id",
    "detail",
    "address",
)


async def note(
    request: Request,
    conn: Conn,
    action: str,
    *,
    brand_id: UUID | str | None = None,
    target_kind: str | None = None,
    target_id: str | None = None,
    detail: Mapping[str, object] | None = None,
) -> None:
    """Record an admin API change, by whoever the token is (an admin agent, or the bootstrap
    token), from the request's client address."""
    actor = actor_of(request)
    await audit.record(
        conn,
        action=action,
        actor_id=actor.id,
        actor_label=actor.label,
        brand_id=str(brand_id) if brand_id is not None else None,
        target_kind=target_kind,
        target_id=target_id,
        detail=detail,
        address=request.client.host if request.client else None,
    )


async def list_audit(request: Request) -> Response:
    """
    summary: The audit log, newest first, filtered; `next` reads the following page
      (admin token)
    parameters:
      - {name: actor, in: query, required: false, schema: {type: string},
         description: "an agent's id, or an actor's label (an agent's email, 'admin token',
         'system')"}
      - {name: action, in: query, required: false, schema: {type: string},
         description: "an action ('contact.erased'), or a family ending with a dot ('contact.')"}
      - {name: brand, in: query, required: false, schema: {type: string},
         description: "a brand's slug or id"}
      - {name: target, in: query, required: false, schema: {type: string},
         description: "what was acted on: 'contact' or 'contact:<id>'"}
      - {name: since, in: query, required: false, schema: {type: string},
         description: "ISO 8601 date or time (UTC unless it says), inclusive"}
      - {name: until, in: query, required: false, schema: {type: string},
         description: "ISO 8601 date or time (UTC unless it says), exclusive"}
      - {name: before, in: query, required: false, schema: {type: integer, minimum: 1},
         description: "only entries older than this id: the previous page's next"}
      - {name: limit, in: query, required: false,
         schema: {type: integer, minimum: 1, maximum: 1000}}
    responses:
      200: {description: "the entries and next (null on the last page)"}
      401: {description: no admin token}
      404: {description: unknown brand}
      422: {description: a filter that cannot be read}
    """
    async with services(request).pool.acquire() as conn:
        query = await _query(request, conn)
        return JSON(await audit.entries(conn, query))


async def export_audit(request: Request) -> Response:
    """
    summary: The audit log as CSV, newest first, with the same filters (admin token)
    parameters:
      - {name: actor, in: query, required: false, schema: {type: string},
         description: "an agent's id, or an actor's label"}
      - {name: action, in: query, required: false, schema: {type: string},
         description: "an action, or a family ending with a dot ('contact.')"}
      - {name: brand, in: query, required: false, schema: {type: string},
         description: "a brand's slug or id"}
      - {name: target, in: query, required: false, schema: {type: string},
         description: "what was acted on: 'contact' or 'contact:<id>'"}
      - {name: since, in: query, required: false, schema: {type: string},
         description: "ISO 8601 date or time (UTC unless it says), inclusive"}
      - {name: until, in: query, required: false, schema: {type: string},
         description: "ISO 8601 date or time (UTC unless it says), exclusive"}
      - {name: before, in: query, required: false, schema: {type: integer, minimum: 1},
         description: "only entries older than this id"}
    responses:
      200: {description: "text/csv: one line per entry, detail as JSON"}
      401: {description: no admin token}
      404: {description: unknown brand}
      422: {description: a filter that cannot be read}
    """
    pool = services(request).pool
    async with pool.acquire() as conn:
        query = await _query(request, conn)

    async def lines() -> AsyncIterator[bytes]:
        yield _csv_line(CSV_COLUMNS)
        before = query.before
        while True:
            async with pool.acquire() as conn:
                page = await audit.entries(conn, _page(query, before))
            yield b"".join(_csv_line(_cells(e)) for e in page["entries"])
            if page["next"] is None:
                return
            before = page["next"]

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


def _page(query: AuditQuery, before: int | None) -> AuditQuery:
    return AuditQuery(
        actor=query.actor,
        action=query.action,
        brand_id=query.brand_id,
        target_kind=query.target_kind,
        target_id=query.target_id,
        since=query.since,
        until=query.until,
        before=before,
        limit=CSV_PAGE,
    )


def _cells(entry: AuditEntry) -> list[str]:
    """The entry's values in CSV_COLUMNS order."""
    values = (
        entry["id"],
        entry["at"],
        entry["actor_id"],
        entry["actor_label"],
        entry["action"],
        entry["brand_id"],
        entry["target_kind"],
        entry["target_id"],
        orjson.dumps(entry["detail"]).decode(),
        entry["address"],
    )
    return ["" if v is None else str(v) for v in values]


def _csv_line(cells: list[str] | tuple[str, ...]) -> bytes:
    out = io.StringIO()
    # A spreadsheet runs a cell that starts with = + - @ as a formula: such cells get a
    # leading quote, as OWASP advises for CSV exports.
    csv.writer(out).writerow(["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in cells])
    return out.getvalue().encode()


async def _query(request: Request, conn: Conn) -> AuditQuery:
    """The filters of the request's query string; InvalidInput names the first bad one."""
    actor = query_value(request, "actor")
    if actor is not None and not 1 <= len(actor) <= 320:
        raise InvalidInput("actor: an agent's id or an actor's label (1-320 characters)")
    action = query_value(request, "action")
    if action is not None:
        audit.action_filter(action)
    brand = query_value(request, "brand")
    brand_id = None
    if brand is not None:
        try:
            brand_id = str(UUID(brand))
        except ValueError:
            brand_id = str(await org.brand_id(conn, brand))
    target_kind = target_id = None
    target = query_value(request, "target")
    if target is not None:
        target_kind, colon, rest = target.partition(":")
        if not TARGET_KIND.match(target_kind) or (colon and not 1 <= len(rest) <= 320):
            raise InvalidInput(f"target: {target!r} is not 'kind' or 'kind:id' (e.g. contact:...)")
        target_id = rest if colon else None
    since = _moment(request, "since")
    until = _moment(request, "until")
    if since is not None and until is not None and until <= since:
        raise InvalidInput("until: must come after since")
    return AuditQuery(
        actor=actor,
        action=action,
        brand_id=brand_id,
        target_kind=target_kind,
        target_id=target_id,
        since=since,
        until=until,
        before=_integer(request, "before", 1, BIGINT_MAX),
        limit=_integer(request, "limit", 1, MAX_LIMIT) or 100,
    )


def _moment(request: Request, name: str) -> datetime | None:
    value = query_value(request, name)
    return audit.moment(name, value) if value is not None else None


def _integer(request: Request, name: str, low: int, high: int) -> int | None:
    value = query_value(request, name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise InvalidInput(f"{name}: an integer from {low} to {high}")
    return int(value)


routes = [
    Route("/audit", list_audit, methods=["GET"]),
    Route("/audit.csv", export_audit, methods=["GET"]),
]
