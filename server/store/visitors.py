"""Web chat visitors and who vouches for them: a web chat inbox's identity secret, and the
contact a visitor is joined to (one of its own, unverified; or the contact holding the
verified identity the embedding site vouched for). See docs/webchat-identity.md."""

from __future__ import annotations

import secrets
from typing import Any, NamedTuple, TypedDict
from uuid import UUID

import asyncpg

from server.errors import InvalidInput, NotFound
from server.store.views import Conn

# The channel of a verified identity; its external id is "<brand id>:<identifier>", so two
# brands' users with the same id are two people.
VERIFIED_CHANNEL = "webchat-user"
# Long enough that the HMAC cannot be guessed (a site's own secret must be at least this).
MIN_SECRET_CHARS = 32


class SecretStatus(TypedDict):
    """Whether a web chat inbox verifies identities; the secret itself only when generated."""

    brand: str
    channel: str
    address: str
    identity_verification: bool
    identity_secret_set_at: str | None
    identity_secret: str | None


async def identity_secret(conn: Conn, inbox_id: str) -> str | None:
    """The inbox's identity secret, or None when it verifies no identities."""
    secret: str | None = await conn.fetchval(
        "SELECT settings->>'identity_secret' FROM inboxes WHERE id = $1", UUID(inbox_id)
    )
    return secret


async def _webchat_inbox(conn: Conn, channel: str, address: str) -> UUID:
    if channel != "webchat":
        raise InvalidInput("channel: only web chat inboxes verify visitors' identities")
    found = await conn.fetchval(
        "SELECT id FROM inboxes WHERE channel = 'webchat' AND address = $1", address
    )
    if found is None:
        raise NotFound(f"no webchat inbox {address!r}")
    return UUID(str(found))


async def secret_status(conn: Conn, channel: str, address: str) -> SecretStatus:
    """Whether the inbox has an identity secret and since when; never the secret."""
    inbox = await _webchat_inbox(conn, channel, address)
    row = await conn.fetchrow(
        "SELECT b.slug, i.settings ? 'identity_secret' AS set,"
        " i.settings->>'identity_secret_set_at' AS at"
        " FROM inboxes i JOIN brands b ON b.id = i.brand_id WHERE i.id = $1",
        inbox,
    )
    assert row is not None
    return {
        "brand": row["slug"],
        "channel": channel,
        "address": address,
        "identity_verification": bool(row["set"]),
        "identity_secret_set_at": row["at"],
        "identity_secret": None,
    }


async def set_identity_secret(
    conn: Conn, channel: str, address: str, secret: str | None = None
) -> SecretStatus:
    """Set the inbox's identity secret: ``secret`` when given (a site moving its existing one
    here), else a new random one, which the answer carries this once. Rotating makes every
    hash made with the old secret fail at the visitor's next session."""
    if secret is not None and (len(secret) < MIN_SECRET_CHARS or secret != secret.strip()):
        raise InvalidInput(
            f"secret: at least {MIN_SECRET_CHARS} characters, without surrounding spaces"
        )
    inbox = await _webchat_inbox(conn, channel, address)
    generated = secret is None
    value = secret if secret is not None else secrets.token_hex(32)
    await conn.execute(
        """UPDATE inboxes SET settings = settings || jsonb_build_object(
               'identity_secret', $2::text, 'identity_secret_set_at', now()::text)
            WHERE id = $1""",
        inbox,
        value,
    )
    status = await secret_status(conn, channel, address)
    status["identity_secret"] = value if generated else None
    return status


async def clear_identity_secret(conn: Conn, channel: str, address: str) -> SecretStatus:
    """Stop verifying identities in the inbox: every identifier is refused until a new secret
    is set (visitors without one are unaffected)."""
    inbox = await _webchat_inbox(conn, channel, address)
    await conn.execute(
        "UPDATE inboxes SET settings = settings - 'identity_secret' - 'identity_secret_set_at'"
        " WHERE id = $1",
        inbox,
    )
    return await secret_status(conn, channel, address)


async def join_verified(
    conn: Conn,
    brand_id: str,
    visitor_id: str,
    identifier: str,
    *,
    email: str | None,
    name: str | None,
) -> str:
    """Join the visitor to the contact holding the verified ``identifier``: the one that
    holds it already, else (when ``email``, the identifier as an address, is given) the
    verified contact with that address, else a new verified contact. ``name`` fills only a
    missing name. Returns the contact id. Call inside a transaction."""
    external_id = f"{brand_id}:{identifier}"
    contact_id = await _verified_contact(conn, brand_id, external_id, identifier, email, name)
    if name:
        await conn.execute(
            "UPDATE contacts SET name = $2, updated_at = now() WHERE id = $1 AND name IS NULL",
            UUID(contact_id),
            name,
        )
    # The visitor's own identity is what its messages arrive under. A visitor id is new for
    # each session unless its token was issued for this same identifier, so pointing it at
    # the verified contact takes nothing from anyone.
    await conn.execute(
        """INSERT INTO contact_identities (contact_id, channel, external_id, profile)
           VALUES ($1, 'webchat', $2, $3)
           ON CONFLICT (channel, external_id) DO UPDATE SET contact_id = EXCLUDED.contact_id""",
        UUID(contact_id),
        visitor_id,
        {"identifier": identifier, "name": name},
    )
    return contact_id


class Hello(NamedTuple):
    """What a socket's hello needs: the web chat inbox's id, the visitor's contact (None: no
    such visitor) and its current conversation in the inbox (None: none yet)."""

    inbox_id: str
    contact_id: str | None
    current: str | None


# What a hello reads of a visitor: the inbox, the contact and its current conversation (the
# open one first, else the latest), for the pairs in ``v``.
_HELLO_COLUMNS = """SELECT v.address, v.visitor_id, i.id AS inbox_id, ci.contact_id,
                  (SELECT c.id FROM conversations c
                    WHERE c.inbox_id = i.id AND c.contact_id = ci.contact_id
                    ORDER BY (c.status <> 'resolved') DESC, c.created_at DESC LIMIT 1) AS current
             FROM {pairs} AS v(address, visitor_id)
             JOIN inboxes i ON i.channel = 'webchat' AND i.address = v.address
             LEFT JOIN contact_identities ci
                    ON ci.channel = 'webchat' AND ci.external_id = v.visitor_id"""
_HELLOS = _HELLO_COLUMNS.format(pairs="unnest($1::text[], $2::text[])")
# A lone hello (most of a storm's, on a node greeting a few hundred a second: store/group_read
# reads whatever arrived while its last read was in flight) as two text parameters: asyncpg
# builds each text[] parameter in Python-level steps, about a fiftieth of a node's reconnect
# under callgrind when every read was one pair.
_ONE_HELLO = _HELLO_COLUMNS.format(pairs="(VALUES ($1::text, $2::text))")


async def at_hellos(conn: Conn, asked: list[tuple[str, str]]) -> dict[tuple[str, str], Hello]:
    """For many sockets' hellos, in one statement: for each (inbox address, visitor id) asked,
    its Hello, with the current conversation open first, else the latest; a pair whose inbox
    is no web chat inbox is left out. One read for a storm's worth of hellos
    (store/group_read.py): the plan and the round trip are shared."""
    if len(asked) == 1:
        rows = await conn.fetch(_ONE_HELLO, *asked[0])
    else:
        rows = await conn.fetch(
            _HELLOS, [address for address, _ in asked], [visitor for _, visitor in asked]
        )
    return {
        (row["address"], row["visitor_id"]): Hello(
            str(row["inbox_id"]),
            None if row["contact_id"] is None else str(row["contact_id"]),
            None if row["current"] is None else str(row["current"]),
        )
        for row in rows
    }


async def made_before(conn: Conn, visitor_id: str, seconds: float) -> bool:
    """Whether the visitor's identity exists and was made more than ``seconds`` ago."""
    found: bool | None = await conn.fetchval(
        "SELECT created_at < now() - make_interval(secs => $2) FROM contact_identities"
        " WHERE channel = 'webchat' AND external_id = $1",
        visitor_id,
        seconds,
    )
    return bool(found)


async def _verified_contact(
    conn: Conn,
    brand_id: str,
    external_id: str,
    identifier: str,
    email: str | None,
    name: str | None,
) -> str:
    found = await _holder(conn, external_id)
    if found is not None:
        return found
    # A savepoint: two first sessions of one user at once make one identity; the loser's
    # contact is rolled back with it.
    try:
        async with conn.transaction():
            contact: Any = None
            if email:
                contact = await conn.fetchval(
                    "SELECT id FROM contacts WHERE brand_id = $1 AND lower(email) = lower($2)"
                    " AND verified ORDER BY created_at LIMIT 1",
                    UUID(brand_id),
                    email,
                )
            if contact is None:
                contact = await conn.fetchval(
                    "INSERT INTO contacts (brand_id, name, email, verified)"
                    " VALUES ($1, $2, $3, true) RETURNING id",
                    UUID(brand_id),
                    name,
                    email,
                )
            await conn.execute(
                "INSERT INTO contact_identities (contact_id, channel, external_id, profile)"
                " VALUES ($1, $2, $3, $4)",
                contact,
                VERIFIED_CHANNEL,
                external_id,
                {"identifier": identifier},
            )
            return str(contact)
    except asyncpg.UniqueViolationError:
        winner = await _holder(conn, external_id)
        assert winner is not None
        return winner


async def _holder(conn: Conn, external_id: str) -> str | None:
    found = await conn.fetchval(
        "SELECT contact_id FROM contact_identities WHERE channel = $1 AND external_id = $2",
        VERIFIED_CHANNEL,
        external_id,
    )
    return None if found is None else str(found)


# ---- one-time email codes (kept on the visitor's identity, only their digest) ----


class PendingCode(TypedDict):
    contact_id: str
    email: str
    digest: str
    attempts: int
    expired: bool


async def contact_verified(conn: Conn, contact_id: str) -> bool:
    verified: bool = await conn.fetchval(
        "SELECT verified FROM contacts WHERE id = $1", UUID(contact_id)
    )
    return verified


async def put_email_code(
    conn: Conn, visitor_id: str, email: str, digest: str, ttl_seconds: int
) -> None:
    """Keep a new code for the visitor (any earlier one is replaced)."""
    await conn.execute(
        """UPDATE contact_identities SET profile = profile || jsonb_build_object(
               'email_code', jsonb_build_object(
                   'email', $2::text, 'digest', $3::text, 'attempts', 0,
                   'expires_at', (now() + make_interval(secs => $4))::text))
            WHERE channel = 'webchat' AND external_id = $1""",
        visitor_id,
        email,
        digest,
        float(ttl_seconds),
    )


async def pending_code(conn: Conn, visitor_id: str) -> PendingCode | None:
    """The visitor's code, its row locked until the transaction ends; None when none."""
    row = await conn.fetchrow(
        """SELECT contact_id, profile->'email_code' AS code,
                  (profile->'email_code'->>'expires_at')::timestamptz <= now() AS expired
             FROM contact_identities WHERE channel = 'webchat' AND external_id = $1
              AND profile ? 'email_code' FOR UPDATE""",
        visitor_id,
    )
    if row is None:
        return None
    code = row["code"]
    return {
        "contact_id": str(row["contact_id"]),
        "email": code["email"],
        "digest": code["digest"],
        "attempts": int(code["attempts"]),
        "expired": bool(row["expired"]),
    }


async def count_wrong_code(conn: Conn, visitor_id: str) -> None:
    await conn.execute(
        """UPDATE contact_identities SET profile = jsonb_set(profile, '{email_code,attempts}',
               to_jsonb((profile->'email_code'->>'attempts')::int + 1))
            WHERE channel = 'webchat' AND external_id = $1 AND profile ? 'email_code'""",
        visitor_id,
    )


async def drop_email_code(conn: Conn, visitor_id: str) -> None:
    await conn.execute(
        "UPDATE contact_identities SET profile = profile - 'email_code'"
        " WHERE channel = 'webchat' AND external_id = $1",
        visitor_id,
    )


async def join_proved_email(
    conn: Conn, brand_id: str, visitor_id: str, own_contact: str, email: str
) -> str:
    """The visitor proved ``email``: join it to the verified contact with that address, else
    verify its own contact with it. Returns the contact now behind the visitor. Its earlier
    conversations stay with its own contact (an agent may Link the two)."""
    holder = await conn.fetchval(
        "SELECT id FROM contacts WHERE brand_id = $1 AND lower(email) = lower($2)"
        " AND verified ORDER BY created_at LIMIT 1",
        UUID(brand_id),
        email,
    )
    if holder is None:
        await conn.execute(
            "UPDATE contacts SET email = $2, verified = true, updated_at = now() WHERE id = $1",
            UUID(own_contact),
            email,
        )
        holder = UUID(own_contact)
    await conn.execute(
        """UPDATE contact_identities
              SET contact_id = $2,
                  profile = (profile - 'email_code') || jsonb_build_object('email_proved', $3::text)
            WHERE channel = 'webchat' AND external_id = $1""",
        visitor_id,
        holder,
        email,
    )
    return str(holder)
