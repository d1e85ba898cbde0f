"""Inboxes and contacts: who is writing, and to which inbox."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from uuid import UUID, uuid4

import asyncpg

from channels.base import Sender
from server.errors import Conflict, InvalidInput, NotFound
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


# Channels whose senders say who they are (anyone can type any name or email into the widget):
# a contact first met there is unverified and is never matched by email (migration 0010).
SELF_ASSERTED_CHANNELS = frozenset({"webchat"})


async def resolve_contact(conn: Conn, brand_id: str, channel: str, sender: Sender) -> str:
    """The contact behind a channel identity, created on first contact; a sender on a channel
    that authenticates its users (mail, Telegram, Slack) is matched by email to a verified
    contact, a web chat visitor never is."""
    verified = channel not in SELF_ASSERTED_CHANNELS
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
            if sender.email and verified:
                contact_id = await conn.fetchval(
                    "SELECT id FROM contacts WHERE brand_id = $1 AND lower(email) = lower($2)"
                    " AND verified ORDER BY created_at LIMIT 1",
                    brand_id,
                    sender.email,
                )
            if contact_id is None:
                contact_id = await conn.fetchval(
                    "INSERT INTO contacts (brand_id, name, email, verified)"
                    " VALUES ($1, $2, $3, $4) RETURNING id",
                    brand_id,
                    sender.name,
                    sender.email,
                    verified,
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


async def identified_contacts(
    conn: Conn, identities: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The contacts behind the (channel, external id) identities already known, in one
    statement: ``resolve_contact``'s first read for the messages stored together."""
    rows = await conn.fetch(
        "SELECT i.channel, i.external_id, i.contact_id FROM contact_identities i"
        " JOIN unnest($1::text[], $2::text[]) AS u(channel, external_id)"
        " ON i.channel = u.channel AND i.external_id = u.external_id",
        [channel for channel, _ in identities],
        [external_id for _, external_id in identities],
    )
    return {(r["channel"], r["external_id"]): str(r["contact_id"]) for r in rows}


@dataclass(frozen=True, slots=True)
class NewSender:
    """A sender whose (channel, external id) has no contact yet (``create_contacts``)."""

    brand_id: str
    channel: str
    sender: Sender


async def create_contacts(conn: Conn, senders: list[NewSender]) -> dict[tuple[str, str], str]:
    """``resolve_contact`` for senders ``identified_contacts`` did not find, in one statement
    (it was up to six round trips a sender: a savepoint, two reads, two inserts; issue 14):
    each (channel, external id) once, with a verified sender matched by email to a verified
    contact of its brand, else given a new contact. Senders of the batch sharing a verified
    (brand, email) share one contact, as they would one after the other. Returns the contact
    by (channel, external id). Raises asyncpg.UniqueViolationError when another transaction
    gave one of these identities a contact meanwhile: the caller rolls back and resolves
    them one by one (``resolve_contact`` copes with that race)."""
    # The contact each group of senders finds or creates, by (brand, email) for verified
    # senders with an email, else by identity. The ids are chosen here, so the identities
    # can name the contacts inserted by the same statement.
    groups: dict[tuple[str, str, str], UUID] = {}
    wanted: list[tuple[UUID, str, str | None, str | None, bool]] = []
    identities: list[tuple[UUID, str, str, dict[str, str | None]]] = []
    seen: set[tuple[str, str]] = set()
    for new in senders:
        sender = new.sender
        identity = (new.channel, sender.external_id)
        if identity in seen:
            continue
        seen.add(identity)
        verified = new.channel not in SELF_ASSERTED_CHANNELS
        group = (
            ("email", new.brand_id, sender.email.lower())
            if sender.email and verified
            else ("identity", *identity)
        )
        contact = groups.get(group)
        if contact is None:
            contact = groups[group] = uuid4()
            wanted.append((contact, new.brand_id, sender.name, sender.email, verified))
        identities.append(
            (contact, new.channel, sender.external_id, {"name": sender.name, "email": sender.email})
        )
    if not identities:
        return {}
    rows = await conn.fetch(
        """WITH wanted AS (
               SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::bool[])
                   AS w(id, brand_id, name, email, verified)),
           matched AS (
               SELECT DISTINCT ON (w.id) w.id AS wanted, c.id
                 FROM wanted w
                 JOIN contacts c ON c.brand_id = w.brand_id AND lower(c.email) = lower(w.email)
                                AND c.verified
                WHERE w.verified AND w.email IS NOT NULL
                ORDER BY w.id, c.created_at),
           created AS (
               INSERT INTO contacts (id, brand_id, name, email, verified)
               SELECT w.id, w.brand_id, w.name, w.email, w.verified FROM wanted w
                WHERE NOT EXISTS (SELECT 1 FROM matched m WHERE m.wanted = w.id)
               RETURNING id)
           INSERT INTO contact_identities (contact_id, channel, external_id, profile)
           SELECT coalesce(m.id, i.wanted), i.channel, i.external_id, i.profile
             FROM unnest($6::uuid[], $7::text[], $8::text[], $9::jsonb[])
                  AS i(wanted, channel, external_id, profile)
             LEFT JOIN matched m ON m.wanted = i.wanted
           RETURNING channel, external_id, contact_id""",
        [w[0] for w in wanted],
        [UUID(w[1]) for w in wanted],
        [w[2] for w in wanted],
        [w[3] for w in wanted],
        [w[4] for w in wanted],
        [i[0] for i in identities],
        [i[1] for i in identities],
        [i[2] for i in identities],
        [i[3] for i in identities],
    )
    return {(r["channel"], r["external_id"]): str(r["contact_id"]) for r in rows}


async def contact_id_by_reference(conn: Conn, brand_id: str, reference: str) -> str:
    """A contact named by its id, an email address, or a channel identity ("slack:U123")."""
    with contextlib.suppress(ValueError):
        found = await conn.fetchval(
            "SELECT id FROM contacts WHERE id = $1 AND brand_id = $2",
            UUID(reference),
            UUID(brand_id),
        )
        if found is not None:
            return str(found)
    if "@" in reference:
        # A verified contact first: visitors may have typed anyone's address.
        found = await conn.fetchval(
            "SELECT id FROM contacts WHERE brand_id = $1 AND lower(email) = lower($2)"
            " ORDER BY verified DESC, created_at LIMIT 1",
            UUID(brand_id),
            reference.strip(),
        )
    else:
        channel, _, external = reference.partition(":")
        found = await conn.fetchval(
            "SELECT c.id FROM contact_identities i JOIN contacts c ON c.id = i.contact_id"
            " WHERE c.brand_id = $1 AND i.channel = $2 AND i.external_id = $3",
            UUID(brand_id),
            channel,
            external,
        )
    if found is None:
        raise NotFound(f"no contact {reference!r}")
    return str(found)


async def merge_contacts(conn: Conn, keep: str, other: str) -> list[str]:
    """Move ``other``'s identities, conversations and orders to ``keep`` and delete it;
    ``keep`` takes what it lacks (name, email, tier) and the higher value and VIP flag.
    An agent linking an unverified visitor with a verified contact vouches for it: the result
    is verified, and the verified contact's name and email win over what the visitor typed.
    Returns every conversation of the merged contact. Call inside a transaction."""
    if keep == other:
        raise InvalidInput("a contact cannot be merged with itself")
    rows = await conn.fetch(
        "SELECT id, brand_id FROM contacts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        [UUID(keep), UUID(other)],
    )
    if len(rows) != 2:
        raise NotFound("no such contact")
    if rows[0]["brand_id"] != rows[1]["brand_id"]:
        raise InvalidInput("contacts of different brands cannot be merged")
    clash = await conn.fetchval(
        """SELECT i.name FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
            WHERE c.contact_id = ANY($1::uuid[]) AND c.status <> 'resolved'
              AND c.thread_key IS NULL
            GROUP BY i.id, i.name HAVING count(*) > 1 LIMIT 1""",
        [UUID(keep), UUID(other)],
    )
    if clash is not None:
        raise Conflict(f"both have an open conversation in {clash}; resolve one first")
    await conn.execute(
        """UPDATE contacts k
              SET name = CASE WHEN o.verified AND NOT k.verified THEN coalesce(o.name, k.name)
                              ELSE coalesce(k.name, o.name) END,
                  email = CASE WHEN o.verified AND NOT k.verified THEN coalesce(o.email, k.email)
                               ELSE coalesce(k.email, o.email) END,
                  verified = k.verified OR o.verified,
                  vip = k.vip OR o.vip, tier = coalesce(k.tier, o.tier),
                  lifetime_value = greatest(k.lifetime_value, o.lifetime_value), updated_at = now()
             FROM contacts o WHERE k.id = $1 AND o.id = $2""",
        UUID(keep),
        UUID(other),
    )
    # Table names are this fixed list, never input.
    for table in ("contact_identities", "conversations", "orders"):
        await conn.execute(
            f"UPDATE {table} SET contact_id = $1 WHERE contact_id = $2",
            UUID(keep),
            UUID(other),
        )
    await conn.execute("DELETE FROM contacts WHERE id = $1", UUID(other))
    moved = await conn.fetch("SELECT id FROM conversations WHERE contact_id = $1", UUID(keep))
    return [str(r["id"]) for r in moved]


async def ensure_inbox(
    conn: Conn, channel: str, address: str, name: str, brand: str | None
) -> None:
    """A channel's inbox, created in ``brand`` (else the first brand) unless an admin created
    it already, in which case it stays where they put it."""
    await conn.execute(
        """INSERT INTO inboxes (brand_id, channel, address, name)
           SELECT id, $1, $2, $3 FROM brands WHERE $4::text IS NULL OR slug = $4
            ORDER BY created_at LIMIT 1
           ON CONFLICT (channel, address) DO NOTHING""",
        channel,
        address,
        name,
        brand,
    )


async def fill_profile(conn: Conn, contact_id: str, name: str | None, email: str | None) -> None:
    """Set an unverified contact's name and email where given (what its visitor typed wins).
    A verified contact (one the visitor was linked to) never takes what a visitor types."""
    await conn.execute(
        "UPDATE contacts SET name = coalesce($2, name), email = coalesce($3, email),"
        " updated_at = now() WHERE id = $1 AND NOT verified",
        UUID(contact_id),
        name,
        email,
    )


async def fill_missing_profile(
    conn: Conn, channel: str, external_id: str, name: str | None, email: str | None
) -> None:
    """Name and email for the contact behind a channel identity, where it has none yet
    (what an agent set stays). A contact with nothing to fill is not written: Slack's
    service calls this after every message it stores, and an UPDATE that only moved
    ``updated_at`` was a row version and a durable commit for each."""
    await conn.execute(
        """UPDATE contacts c SET name = coalesce(c.name, $3), email = coalesce(c.email, $4),
                  updated_at = now()
             FROM contact_identities i
            WHERE i.contact_id = c.id AND i.channel = $1 AND i.external_id = $2
              AND ((c.name IS NULL AND $3::text IS NOT NULL)
                   OR (c.email IS NULL AND $4::text IS NOT NULL))""",
        channel,
        external_id,
        name,
        email,
    )


async def contact_by_identity(conn: Conn, channel: str, external_id: str) -> str | None:
    """The contact behind a channel identity, if there is one."""
    found = await conn.fetchval(
        "SELECT contact_id FROM contact_identities WHERE channel = $1 AND external_id = $2",
        channel,
        external_id,
    )
    return None if found is None else str(found)


async def brand_of_contact(conn: Conn, contact_id: str) -> str:
    brand = await conn.fetchval("SELECT brand_id FROM contacts WHERE id = $1::uuid", contact_id)
    return str(brand)


async def inbox_address_of_conversation(
    conn: Conn, conversation_id: str, channel: str
) -> str | None:
    """The address of the inbox a conversation on ``channel`` came through."""
    address: str | None = await conn.fetchval(
        "SELECT i.address FROM conversations c JOIN inboxes i ON i.id = c.inbox_id"
        " WHERE c.id = $1::uuid AND c.channel = $2",
        conversation_id,
        channel,
    )
    return address


async def inbox_address_of_message(conn: Conn, message_id: int) -> str | None:
    """The address of the inbox a message's conversation came through."""
    address: str | None = await conn.fetchval(
        "SELECT i.address FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " JOIN inboxes i ON i.id = c.inbox_id WHERE m.id = $1",
        message_id,
    )
    return address
