"""Inboxes and contacts: who is writing, and to which inbox."""

from __future__ import annotations

import asyncpg

from channels.base import Sender
from server.errors import NotFound
from server.store.views import Conn, Inbox


async def inbox_by_address(conn: Conn, channel: str, address: str) -> Inbox:
    row = await conn.fetchrow(
        "SELECT id, brand_id, channel, address, name FROM inboxes"
        " WHERE channel = $1 AND address = $2",
        channel,
        address,
    )
    if row is None:
        raise NotFound(f"no {channel} inbox {address!r}")
    return Inbox(
        id=str(row["id"]),
        brand_id=str(row["brand_id"]),
        channel=row["channel"],
        address=row["address"],
        name=row["name"],
    )


async def resolve_contact(conn: Conn, brand_id: str, channel: str, sender: Sender) -> str:
    """The contact behind a channel identity, created (or matched by email) on first contact."""
    found = await conn.fetchval(
        "SELECT contact_id FROM contact_identities WHERE channel = $1 AND external_id = $2",
        channel,
        sender.external_id,
    )
    if found is not None:
        return str(found)
    # A savepoint, so losing a race with another first message only undoes this part.
    try:
        async with conn.transaction():
            contact_id = None
            if sender.email:
                contact_id = await conn.fetchval(
                    "SELECT id FROM contacts WHERE brand_id = $1 AND lower(email) = lower($2)"
                    " ORDER BY created_at LIMIT 1",
                    brand_id,
                    sender.email,
                )
            if contact_id is None:
                contact_id = await conn.fetchval(
                    "INSERT INTO contacts (brand_id, name, email) VALUES ($1, $2, $3) RETURNING id",
                    brand_id,
                    sender.name,
                    sender.email,
                )
            await conn.execute(
                "INSERT INTO contact_identities (contact_id, channel, external_id, profile)"
                " VALUES ($1, $2, $3, $4)",
                contact_id,
                channel,
                sender.external_id,
                {"name": sender.name, "email": sender.email},
            )
            return str(contact_id)
    except asyncpg.UniqueViolationError:
        winner = await conn.fetchval(
            "SELECT contact_id FROM contact_identities WHERE channel = $1 AND external_id = $2",
            channel,
            sender.external_id,
        )
        return str(winner)
