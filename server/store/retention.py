"""Retention per brand (migration 0011): how long conversations, events and files are kept,
and the queries the retention sweep (server/dispatch/retention.py) runs.

Each setting is a number of days, or None to keep forever:

- ``retention_days``: resolved conversations are anonymised this long after their resolution
  (store/privacy.py's ``anonymise_conversations``: tombstones for messages, files and raw
  mail deleted), or deleted when the brand's ``retention_action`` says ``delete``
  (migration 0027);
- ``events_retention_days`` (30 unless changed): the consoles' replay log;
- ``files_retention_days``: raw mail and attached files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from server.errors import InvalidInput
from server.store.privacy import Anonymised, delete_raw_mail
from server.store.views import Conn

SETTINGS = ("retention_days", "events_retention_days", "files_retention_days")
ACTIONS = ("anonymise", "delete")
# A century: more is a typo, and make_interval must not overflow.
MAX_DAYS = 36_500


@dataclass(frozen=True, slots=True)
class Retention:
    brand_id: UUID
    slug: str
    retention_days: int | None
    events_retention_days: int | None
    files_retention_days: int | None
    retention_action: str = "anonymise"


async def retention(conn: Conn) -> list[Retention]:
    """Every brand's settings."""
    rows = await conn.fetch(
        "SELECT id, slug, retention_days, events_retention_days, files_retention_days,"
        " retention_action FROM brands ORDER BY slug"
    )
    return [
        Retention(
            r["id"],
            r["slug"],
            r["retention_days"],
            r["events_retention_days"],
            r["files_retention_days"],
            r["retention_action"],
        )
        for r in rows
    ]


async def set_retention_action(conn: Conn, brand_id: UUID, action: str) -> str:
    """Whether the brand's old conversations are anonymised or deleted; returns it."""
    if action not in ACTIONS:
        raise InvalidInput(f"retention_action: {' or '.join(ACTIONS)}")
    await conn.execute("UPDATE brands SET retention_action = $2 WHERE id = $1", brand_id, action)
    return action


async def delete_conversations(conn: Conn, ids: list[UUID]) -> Anonymised:
    """Delete these conversations and everything they hold: their messages, files, raw mail
    and events (their notes, ratings, activities and the rest go by the foreign keys' ON
    DELETE CASCADE). The contact stays. Call inside a transaction; returns counts (the
    shape an anonymisation's are in)."""
    if not ids:
        return Anonymised(conversations=0, messages=0, attachments=0, mail_receipts=0, events=0)
    messages = await conn.fetchval(
        "SELECT count(*) FROM messages WHERE conversation_id = ANY($1::uuid[])", ids
    )
    files = await conn.fetchval(
        "SELECT count(*) FROM attachments a JOIN messages m ON m.id = a.message_id"
        " WHERE m.conversation_id = ANY($1::uuid[])",
        ids,
    )
    receipts = await delete_raw_mail(conn, ids)
    # Events carry the conversation's id with no foreign key.
    events = await conn.fetchval(
        "WITH gone AS (DELETE FROM events WHERE conversation_id = ANY($1::uuid[]) RETURNING 1)"
        " SELECT count(*) FROM gone",
        ids,
    )
    await conn.execute("DELETE FROM conversations WHERE id = ANY($1::uuid[])", ids)
    return Anonymised(
        conversations=len(ids),
        messages=int(messages),
        attachments=int(files),
        mail_receipts=int(receipts),
        events=int(events),
    )


async def set_retention(
    conn: Conn, brand_id: UUID, changes: Mapping[str, int | None]
) -> dict[str, int | None]:
    """Set the settings named in ``changes`` (None: keep forever); returns all three."""
    for name, days in changes.items():
        if name not in SETTINGS:
            raise InvalidInput(f"{name}: not a retention setting")
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise InvalidInput(f"{name}: a number of days from 1 to {MAX_DAYS}, or null")
    # Column names come from SETTINGS (checked above), never from the caller's text.
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(changes, start=2))
    if assignments:
        await conn.execute(
            f"UPDATE brands SET {assignments} WHERE id = $1", brand_id, *changes.values()
        )
    row = await conn.fetchrow(
        "SELECT retention_days, events_retention_days, files_retention_days FROM brands"
        " WHERE id = $1",
        brand_id,
    )
    return dict(row) if row is not None else {}


async def conversations_past(
    conn: Conn, brand_id: UUID, cutoff: datetime, limit: int, *, anonymised: bool = False
) -> list[UUID]:
    """Up to ``limit`` of the brand's conversations resolved before ``cutoff`` and not yet
    anonymised (or anonymised ones too, to delete them), locked (SKIP LOCKED: one being
    reopened now is left for the next round)."""
    rows = await conn.fetch(
        """SELECT id FROM conversations
            WHERE brand_id = $1 AND status = 'resolved' AND ($4 OR anonymised_at IS NULL)
              AND resolved_at < $2
            ORDER BY resolved_at LIMIT $3 FOR UPDATE SKIP LOCKED""",
        brand_id,
        cutoff,
        limit,
        anonymised,
    )
    return [r["id"] for r in rows]


async def delete_events_before(conn: Conn, brand_id: UUID, cutoff: datetime, limit: int) -> int:
    """Delete up to ``limit`` of the brand's events stored before ``cutoff``; how many."""
    deleted = await conn.fetchval(
        """WITH gone AS (
               DELETE FROM events WHERE id IN (
                   SELECT e.id FROM events e JOIN conversations c ON c.id = e.conversation_id
                    WHERE c.brand_id = $1 AND e.created_at < $2 LIMIT $3)
               RETURNING 1)
           SELECT count(*) FROM gone""",
        brand_id,
        cutoff,
        limit,
    )
    return int(deleted)


async def delete_files_before(conn: Conn, brand_id: UUID, cutoff: datetime) -> dict[str, int]:
    """Delete the brand's attached files of messages older than ``cutoff``, and its raw mail
    received before it (a mail still waiting to be parsed stays). The messages keep their
    files' names; a download of one answers 404."""
    files = await conn.fetchval(
        """WITH gone AS (
               DELETE FROM attachments a USING messages m, conversations c
                WHERE m.id = a.message_id AND c.id = m.conversation_id
                  AND c.brand_id = $1 AND m.created_at < $2 RETURNING 1)
           SELECT count(*) FROM gone""",
        brand_id,
        cutoff,
    )
    # A receipt belongs to its conversation's brand, or, when it opened none (quarantined, a
    # duplicate, a report), to the brand of the inbox it was sent to.
    mail = await conn.fetchval(
        r"""WITH gone AS (
               DELETE FROM mail_receipts r
                WHERE r.state <> 'received' AND r.received_at < $2
                  AND CASE WHEN r.conversation_id IS NOT NULL THEN EXISTS (
                               SELECT 1 FROM conversations c
                                WHERE c.id = r.conversation_id AND c.brand_id = $1)
                           ELSE EXISTS (
                               SELECT 1 FROM inboxes i, unnest(r.rcpt_tos) AS rcpt(address)
                                WHERE i.brand_id = $1 AND i.channel = 'email'
                                  AND lower(i.address)
                                      = regexp_replace(lower(rcpt.address), '\+[^@]*@', '@'))
                      END
               RETURNING 1)
           SELECT count(*) FROM gone""",
        brand_id,
        cutoff,
    )
    return {"attachments": int(files), "mail_receipts": int(mail)}
