"""The outbox: outgoing messages on channels that are not live, until they are delivered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict
from uuid import UUID

from server.payloads import DeliveryView
from server.store.views import Conn, iso

# A claimed delivery is invisible to other workers this long (its send's time limit).
SENDING_LEASE_SECONDS = 120


@dataclass(frozen=True, slots=True)
class Due:
    message_id: int
    channel: str
    attempts: int
    conversation_id: str


async def claim_due(conn: Conn, channels: list[str], limit: int) -> list[Due]:
    """Take up to ``limit`` due deliveries on these channels; each is pushed out of reach for
    the lease, so no other node sends it meanwhile."""
    rows = await conn.fetch(
        """UPDATE deliveries d
              SET attempts = d.attempts + 1,
                  next_attempt_at = now() + make_interval(secs => $2), updated_at = now()
             FROM (SELECT p.message_id, m.conversation_id FROM deliveries p
                     JOIN messages m ON m.id = p.message_id
                    WHERE p.status = 'pending' AND p.next_attempt_at <= now()
                      AND p.channel = ANY($3::text[])
                    ORDER BY p.next_attempt_at, p.message_id LIMIT $1
                    FOR UPDATE OF p SKIP LOCKED) due
            WHERE d.message_id = due.message_id
        RETURNING d.message_id, d.channel, d.attempts, due.conversation_id""",
        limit,
        SENDING_LEASE_SECONDS,
        channels,
    )
    return [
        Due(r["message_id"], r["channel"], r["attempts"], str(r["conversation_id"])) for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an attempt came to; ``retry_at`` keeps it pending until then."""

    message_id: int
    status: str
    detail: str | None
    external_id: str | None = None
    retry_at: datetime | None = None


async def settle_many(conn: Conn, outcomes: list[Outcome]) -> list[DeliveryView]:
    """Record what attempts came to (one each), in one statement; the deliveries as they now
    are, in no particular order (a delivery that no longer exists, its message erased, has
    nothing to record and is not among them)."""
    rows = await conn.fetch(
        """UPDATE deliveries d
              SET status = o.status, detail = o.detail,
                  external_id = coalesce(o.external_id, d.external_id),
                  next_attempt_at = coalesce(o.retry_at, d.next_attempt_at), updated_at = now()
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
                  AS o (message_id, status, detail, external_id, retry_at)
            WHERE d.message_id = o.message_id
        RETURNING d.*""",
        [o.message_id for o in outcomes],
        [o.status for o in outcomes],
        [o.detail[:1000] if o.detail else None for o in outcomes],
        [o.external_id for o in outcomes],
        [o.retry_at for o in outcomes],
    )
    return [delivery_view(row) for row in rows]


async def set_external_id(conn: Conn, message_id: int, external_id: str) -> None:
    """The id is known before the send (our Message-ID), so a report on it finds the row."""
    await conn.execute(
        "UPDATE deliveries SET external_id = $2 WHERE message_id = $1", message_id, external_id
    )


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a delivery in parts has got: parts already sent and the first one's id."""

    parts_sent: int
    external_id: str | None


async def progress(conn: Conn, message_id: int) -> Progress:
    row = await conn.fetchrow(
        "SELECT parts_sent, external_id FROM deliveries WHERE message_id = $1", message_id
    )
    if row is None:
        return Progress(0, None)
    return Progress(int(row["parts_sent"]), row["external_id"])


async def record_part(conn: Conn, message_id: int, parts_sent: int, external_id: str) -> None:
    """One more part is out; the message is known by its first part's id."""
    await conn.execute(
        """UPDATE deliveries SET parts_sent = $2, external_id = coalesce(external_id, $3),
                  updated_at = now()
            WHERE message_id = $1""",
        message_id,
        parts_sent,
        external_id,
    )


async def report(
    conn: Conn, channel: str, external_id: str, status: str, detail: str, report: dict[str, Any]
) -> tuple[str, DeliveryView] | None:
    """Attach a delivery report to the message it names; returns (conversation id, delivery)."""
    row = await conn.fetchrow(
        """UPDATE deliveries d
              SET status = $3, detail = $4, report = $5, updated_at = now()
             FROM messages m
            WHERE d.channel = $1 AND d.external_id = $2 AND m.id = d.message_id
        RETURNING d.*, m.conversation_id""",
        channel,
        external_id,
        status,
        detail[:1000],
        report,
    )
    if row is None:
        return None
    return str(row["conversation_id"]), delivery_view(row)


async def acknowledged_recently(conn: Conn, conversation_id: str, window_seconds: float) -> bool:
    """Whether an automatic message already went out by mail in this conversation lately."""
    found = await conn.fetchval(
        """SELECT 1 FROM deliveries d JOIN messages m ON m.id = d.message_id
            WHERE m.conversation_id = $1 AND m.author_kind = 'system' AND d.status = 'sent'
              AND d.updated_at > now() - make_interval(secs => $2) LIMIT 1""",
        UUID(conversation_id),
        window_seconds,
    )
    return found is not None


def delivery_view(row: Any) -> DeliveryView:
    return {
        "message_id": row["message_id"],
        "status": row["status"],
        "attempts": row["attempts"],
        "detail": row["detail"],
        "updated_at": iso(row["updated_at"]),
    }


class Backlog(TypedDict):
    """Work waiting on this installation: what /readyz reports."""

    outbox: int
    unparsed: int
    quarantined: int


async def backlog(conn: Conn) -> Backlog:
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM deliveries WHERE status = 'pending') AS outbox,"
        " (SELECT count(*) FROM mail_receipts WHERE state = 'received') AS unparsed,"
        " (SELECT count(*) FROM mail_receipts WHERE state = 'quarantined') AS quarantined"
    )
    assert row is not None
    return Backlog(outbox=row["outbox"], unparsed=row["unparsed"], quarantined=row["quarantined"])
