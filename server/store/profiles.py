"""A customer's profile as agents edit it (name, email, phone, notes, labels, time zone), and
the other contacts of the brand that look like the same person (same email or phone), which
the context panel offers to link."""

from __future__ import annotations

from typing import TypedDict
from uuid import UUID

from server.store.conversations import reach_filter, reach_params
from server.store.views import Conn
from web_console.access import Reach
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
    proven: bool  # both addresses proved, not only typed


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
    # An email an agent typed is not proof of who writes from it: the contact stays verified
    # only when one of its identities is that mail address (mail joins contacts by verified
    # email, and a typo must not pull a stranger's mail into this customer's history).
    verified = (
        ", verified = EXISTS (SELECT 1 FROM contact_identities i WHERE i.contact_id = $1"
        f" AND i.channel = 'email' AND lower(i.external_id) = lower(${names.index('email') + 2}))"
        if "email" in names
        else ""
    )
    done = await conn.fetchval(
        f"UPDATE contacts SET {assignments}{verified}, updated_at = now()"
        " WHERE id = $1 AND erased_at IS NULL RETURNING id",
        UUID(contact_id),
        *values,
    )
    if done is None:
        raise Erased(contact_id)
    return names


class Erased(Exception):
    """The contact was erased: its profile stays empty."""


async def look_alikes(conn: Conn, contact_id: UUID, reach: Reach) -> list[LookAlike]:
    """Other contacts of the same brand with the same email (any case) or phone, that the
    reach lets its agent see (one of their conversations is within it). ``proven`` is False
    when either address was only typed (a web chat visitor can type anyone's): linking joins
    their histories, so the console warns before the agent vouches for it."""
    rows = await conn.fetch(
        """SELECT o.id, o.name,
                  CASE WHEN o.email IS NOT NULL AND lower(o.email) = lower(me.email)
                       THEN 'same email' ELSE 'same phone' END AS why,
                  coalesce((SELECT array_agg(DISTINCT i.channel ORDER BY i.channel)
                              FROM contact_identities i WHERE i.contact_id = o.id), '{}')
                  AS channels, me.verified AND o.verified AS proven
             FROM contacts me JOIN contacts o ON o.brand_id = me.brand_id AND o.id <> me.id
            WHERE me.id = $1 AND o.erased_at IS NULL
              AND ((me.email IS NOT NULL AND lower(o.email) = lower(me.email))
                   OR (me.phone IS NOT NULL AND o.phone = me.phone))
              AND EXISTS (SELECT 1 FROM conversations c WHERE c.contact_id = o.id AND """
        + reach_filter(3)
        + """)
            ORDER BY o.created_at LIMIT $2""",
        contact_id,
        LOOK_ALIKES,
        *reach_params(reach),
    )
    return [
        LookAlike(
            contact_id=str(r["id"]),
            name=r["name"],
            channels=list(r["channels"]),
            why=r["why"],
            proven=r["proven"],
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
