"""A customer's profile as agents edit it (name, email, phone, notes, labels, time zone), and
the other contacts of the brand that look like the same person (same email or phone), which
the context panel offers to link."""

from __future__ import annotations

from typing import TypedDict
from uuid import UUID

from server.store.views import Conn
from web_console.port import ContactEdit

# How many look-alikes the panel offers at most.
LOOK_ALIKES = 5


class LookAlike(TypedDict):
    """Another contact of the brand sharing an email or a phone number: maybe the same
    person, reached on another channel."""

    contact_id: str
    name: str | None
    channels: list[str]
    why: str  # "same email" or "same phone"


async def update_profile(conn: Conn, contact_id: str, change: ContactEdit) -> list[str]:
    """Apply the change in the caller's transaction; the names of the fields it set."""
    names = change.changed()
    if not names:
        return []
    values: list[object] = []
    for name in names:
        value = getattr(change, name)
        if name == "labels":
            values.append(list(value))
        else:
            values.append(value or None)  # "" clears
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(names, start=2))
    await conn.execute(
        f"UPDATE contacts SET {assignments}, updated_at = now() WHERE id = $1",
        UUID(contact_id),
        *values,
    )
    return names


async def look_alikes(conn: Conn, contact_id: UUID) -> list[LookAlike]:
    """Other contacts of the same brand with the same email (any case) or phone."""
    rows = await conn.fetch(
        """SELECT o.id, o.name,
                  CASE WHEN o.email IS NOT NULL AND lower(o.email) = lower(c.email)
                       THEN 'same email' ELSE 'same phone' END AS why,
                  coalesce((SELECT array_agg(DISTINCT i.channel ORDER BY i.channel)
                              FROM contact_identities i WHERE i.contact_id = o.id), '{}')
                  AS channels
             FROM contacts c JOIN contacts o ON o.brand_id = c.brand_id AND o.id <> c.id
            WHERE c.id = $1 AND o.erased_at IS NULL
              AND ((c.email IS NOT NULL AND lower(o.email) = lower(c.email))
                   OR (c.phone IS NOT NULL AND o.phone = c.phone))
            ORDER BY o.created_at LIMIT $2""",
        contact_id,
        LOOK_ALIKES,
    )
    return [
        LookAlike(
            contact_id=str(r["id"]), name=r["name"], channels=list(r["channels"]), why=r["why"]
        )
        for r in rows
    ]


# A customer's conversations told of a profile change: the consoles' lists show these.
TOLD = 50


async def recent_conversations(conn: Conn, contact_id: str) -> list[str]:
    """The customer's open conversations and latest resolved ones (at most TOLD)."""
    rows = await conn.fetch(
        "SELECT id FROM conversations WHERE contact_id = $1"
        " ORDER BY (status <> 'resolved') DESC, updated_at DESC LIMIT $2",
        UUID(contact_id),
        TOLD,
    )
    return [str(r["id"]) for r in rows]
