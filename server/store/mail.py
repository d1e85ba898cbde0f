"""Mail receipts (raw messages kept before the 250) and the lookups that thread mail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from server.store.views import Conn, iso, optional_str

# A node parsing a receipt holds it this long; one that dies lets another take it after.
CLAIM_SECONDS = 120
# A receipt whose parsing killed its node this many times is quarantined, not retried.
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Receipt:
    id: int
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    attempts: int
    # Why the last attempt failed, if one did.
    last_failure: str | None


@dataclass(frozen=True, slots=True)
class Arrival:
    """A raw mail as an SMTP session hands it over, to be stored before its 250."""

    peer: str
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    # Claimed by the node storing it (processed from its memory), or left for any node to
    # claim from the table (``claim_waiting``).
    claimed: bool = True


async def add_receipts(conn: Conn, arrivals: list[Arrival]) -> list[int]:
    """Store raw mails in one statement, those ``claimed`` already claimed by the caller (as
    ``claim_receipt`` would: its first attempt), so the node that accepted them parses them
    from memory without reading them back; the others unclaimed. Returns their ids, in
    order. Not in a transaction of the caller's: committed (durably) when this returns."""
    rows = await conn.fetch(
        """WITH arrived AS MATERIALIZED (
               SELECT nextval(pg_get_serial_sequence('mail_receipts', 'id')) AS id, u.*
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $6::bool[])
                      WITH ORDINALITY AS u(peer, mail_from, rcpt_tos, raw, claimed, n)),
           stored AS (
               INSERT INTO mail_receipts (id, peer, mail_from, rcpt_tos, raw, attempts,
                                          claimed_until)
               SELECT id, peer, mail_from, string_to_array(rcpt_tos, E'\\n'), raw,
                      CASE WHEN claimed THEN 1 ELSE 0 END,
                      CASE WHEN claimed THEN now() + make_interval(secs => $5) END
                 FROM arrived)
           SELECT id FROM arrived ORDER BY n""",
        [a.peer[:200] for a in arrivals],
        [a.mail_from[:500] for a in arrivals],
        ["\n".join(a.rcpt_tos) for a in arrivals],
        [a.raw for a in arrivals],
        CLAIM_SECONDS,
        [a.claimed for a in arrivals],
    )
    return [int(r["id"]) for r in rows]


async def claim_waiting(conn: Conn, limit: int, skip: list[int]) -> list[Receipt]:
    """Claim up to ``limit`` receipts waiting in the table (unclaimed, or their claim
    lapsed), oldest first, skipping those another transaction is claiming and the ids
    ``skip`` (held in this node's memory)."""
    rows = await conn.fetch(
        """UPDATE mail_receipts r
              SET attempts = attempts + 1, claimed_until = now() + make_interval(secs => $2)
             FROM (SELECT id FROM mail_receipts
                    WHERE state = 'received'
                      AND (claimed_until IS NULL OR claimed_until < now())
                      AND id <> ALL($3::bigint[])
                    ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) AS w
            WHERE r.id = w.id
        RETURNING r.id, r.mail_from, r.rcpt_tos, r.raw, r.attempts, r.reason""",
        limit,
        CLAIM_SECONDS,
        skip,
    )
    return sorted(
        (
            Receipt(
                r["id"], r["mail_from"], list(r["rcpt_tos"]), r["raw"], r["attempts"], r["reason"]
            )
            for r in rows
        ),
        key=lambda receipt: receipt.id,
    )


async def waiting_count(conn: Conn) -> int:
    """Receipts stored and not yet processed, by any node."""
    return int(await conn.fetchval("SELECT count(*) FROM mail_receipts WHERE state = 'received'"))


async def release_claims(conn: Conn, receipt_ids: list[int]) -> None:
    """``release_claim`` for several receipts at once (a node stopping with them in memory)."""
    await conn.execute(
        "UPDATE mail_receipts SET claimed_until = NULL, attempts = greatest(attempts - 1, 0)"
        " WHERE id = ANY($1::bigint[]) AND state = 'received'",
        receipt_ids,
    )


async def release_claim(conn: Conn, receipt_id: int) -> None:
    """A receipt stored claimed that this node will not parse after all: the next sweep
    takes it (its attempt is not counted)."""
    await conn.execute(
        "UPDATE mail_receipts SET claimed_until = NULL, attempts = greatest(attempts - 1, 0)"
        " WHERE id = $1 AND state = 'received'",
        receipt_id,
    )


async def claim_receipt(conn: Conn, receipt_id: int, *, steal: bool = False) -> Receipt | None:
    """Take the receipt for parsing unless it is done or (without ``steal``) another node
    holds it. Parsing a receipt twice is harmless (its message is stored once), so a node
    starting up steals every claim rather than wait for a dead node's to lapse."""
    row = await conn.fetchrow(
        """UPDATE mail_receipts
              SET attempts = attempts + 1, claimed_until = now() + make_interval(secs => $2)
            WHERE id = $1 AND state = 'received'
              AND ($3 OR claimed_until IS NULL OR claimed_until < now())
        RETURNING id, mail_from, rcpt_tos, raw, attempts, reason""",
        receipt_id,
        CLAIM_SECONDS,
        steal,
    )
    if row is None:
        return None
    return Receipt(
        row["id"],
        row["mail_from"],
        list(row["rcpt_tos"]),
        row["raw"],
        row["attempts"],
        row["reason"],
    )


async def unclaimed_receipts(conn: Conn, *, steal: bool = False, limit: int = 1000) -> list[int]:
    """Receipts stored but not parsed: their node died, or parsing is still to come."""
    rows = await conn.fetch(
        "SELECT id FROM mail_receipts WHERE state = 'received'"
        " AND ($2 OR claimed_until IS NULL OR claimed_until < now()) ORDER BY id LIMIT $1",
        limit,
        steal,
    )
    return [int(r["id"]) for r in rows]


async def settle_receipt(
    conn: Conn,
    receipt_id: int,
    state: str,
    reason: str | None = None,
    *,
    message_id: str | None = None,
    subject: str | None = None,
    conversation_id: str | None = None,
) -> None:
    await conn.execute(
        """UPDATE mail_receipts
              SET state = $2, reason = $3, message_id = $4, subject = $5,
                  conversation_id = $6, processed_at = now(), claimed_until = NULL
            WHERE id = $1""",
        receipt_id,
        state,
        reason[:1000] if reason else None,
        message_id,
        subject[:500] if subject else None,
        UUID(conversation_id) if conversation_id else None,
    )


@dataclass(frozen=True, slots=True)
class Settlement:
    """What became of a receipt (see ``settle_receipt``)."""

    receipt_id: int
    state: str
    reason: str | None = None
    message_id: str | None = None
    subject: str | None = None
    conversation_id: str | None = None


async def settle_receipts(conn: Conn, settled: list[Settlement]) -> None:
    """``settle_receipt`` for several receipts in one statement, committed without waiting
    for the WAL to reach the disk.

    Derived data only: each receipt's messages are committed (durably) already. A crash that
    loses the settling leaves the receipt 'received', the next start processes it again, and
    the messages' keys store nothing twice (``came_from`` tells that the messages found are
    this receipt's own). Not waiting for the flush matters beyond the fsync: setting
    ``conversation_id`` takes a key-share lock on each conversation (the foreign key) that
    is held until the commit returns, while routing waits to lock the same new
    conversations."""
    await conn.execute(
        """WITH lazy AS (SELECT set_config('synchronous_commit', 'off', true))
           UPDATE mail_receipts r
              SET state = u.state, reason = u.reason, message_id = u.message_id,
                  subject = u.subject, conversation_id = u.conversation_id,
                  processed_at = now(), claimed_until = NULL
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::uuid[]) AS u(id, state, reason, message_id, subject,
                                          conversation_id), lazy
            WHERE r.id = u.id""",
        [s.receipt_id for s in settled],
        [s.state for s in settled],
        [s.reason[:1000] if s.reason else None for s in settled],
        [s.message_id for s in settled],
        [s.subject[:500] if s.subject else None for s in settled],
        [UUID(s.conversation_id) if s.conversation_id else None for s in settled],
    )


async def settle_stored(conn: Conn, settled: list[Settlement]) -> None:
    """``settle_receipts`` inside the caller's transaction, the one that stores the receipts'
    messages (server/pipeline/flow.py, ``Pipeline.write_beside``): settled if and only if
    they are stored, with the same durability. Receipts settled already are left as they
    are."""
    await conn.execute(
        """UPDATE mail_receipts r
              SET state = u.state, reason = u.reason, message_id = u.message_id,
                  subject = u.subject, conversation_id = u.conversation_id,
                  processed_at = now(), claimed_until = NULL
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::uuid[]) AS u(id, state, reason, message_id, subject,
                                          conversation_id)
            WHERE r.id = u.id AND r.state = 'received'""",
        [s.receipt_id for s in settled],
        [s.state for s in settled],
        [s.reason[:1000] if s.reason else None for s in settled],
        [s.message_id for s in settled],
        [s.subject[:500] if s.subject else None for s in settled],
        [UUID(s.conversation_id) if s.conversation_id else None for s in settled],
    )


async def came_from(conn: Conn, message_ids: list[int], receipt_id: int) -> bool:
    """Whether any of these stored messages was made from this receipt (processed before, its
    settling lost in a crash), rather than from another delivery of the same mail."""
    found = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM messages WHERE id = ANY($1::bigint[])"
        " AND meta->>'receipt_id' = $2::text)",
        message_ids,
        str(receipt_id),
    )
    return bool(found)


async def note_failure(conn: Conn, receipt_id: int, reason: str) -> None:
    """Why processing failed this time; the receipt stays to be retried."""
    await conn.execute(
        "UPDATE mail_receipts SET reason = $2, claimed_until = now() + make_interval(secs => 5)"
        " WHERE id = $1 AND state = 'received'",
        receipt_id,
        reason[:1000],
    )


async def requeue_receipt(conn: Conn, receipt_id: int) -> bool:
    """An admin asks for a quarantined receipt to be parsed again."""
    status = await conn.execute(
        "UPDATE mail_receipts SET state = 'received', reason = NULL, attempts = 0,"
        " claimed_until = NULL WHERE id = $1 AND state = 'quarantined'",
        receipt_id,
    )
    return status.endswith(" 1")


async def receipts(conn: Conn, state: str | None, limit: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT id, received_at, peer, mail_from, rcpt_tos, length(raw) AS size, state,
                  reason, message_id, subject, conversation_id, attempts, processed_at
             FROM mail_receipts WHERE ($1::text IS NULL OR state = $1)
            ORDER BY id DESC LIMIT $2""",
        state,
        limit,
    )
    return [
        {
            "id": r["id"],
            "received_at": iso(r["received_at"]),
            "peer": r["peer"],
            "mail_from": r["mail_from"],
            "rcpt_tos": list(r["rcpt_tos"]),
            "size": r["size"],
            "state": r["state"],
            "reason": r["reason"],
            "message_id": r["message_id"],
            "subject": r["subject"],
            "conversation_id": optional_str(r["conversation_id"]),
            "attempts": r["attempts"],
            "processed_at": iso(r["processed_at"]),
        }
        for r in rows
    ]


async def raw_receipt(conn: Conn, receipt_id: int) -> bytes | None:
    value = await conn.fetchval("SELECT raw FROM mail_receipts WHERE id = $1", receipt_id)
    return bytes(value) if value is not None else None


async def raw_of_message(conn: Conn, message_id: int) -> bytes | None:
    """The raw mail a stored customer message came from."""
    value = await conn.fetchval(
        "SELECT r.raw FROM messages m JOIN mail_receipts r"
        " ON r.id = (m.meta->>'receipt_id')::bigint WHERE m.id = $1",
        message_id,
    )
    return bytes(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Thread:
    conversation_id: str
    thread_key: str


async def thread_by_token(conn: Conn, inbox_id: str, token: str, sender: str) -> Thread | None:
    """The conversation whose reply token the mail was sent to, if the sender is its contact."""
    row = await conn.fetchrow(
        "SELECT c.id, c.thread_key FROM conversations c WHERE c.inbox_id = $1"
        " AND c.reply_token = $2 AND c.thread_key IS NOT NULL AND " + _SENDER_IS_CONTACT,
        UUID(inbox_id),
        token,
        sender,
    )
    return Thread(str(row["id"]), row["thread_key"]) if row is not None else None


async def thread_by_message_ids(
    conn: Conn, inbox_id: str, ids: list[str], sender: str
) -> Thread | None:
    """The conversation holding any of these Message-IDs (the customer's earlier mail or our
    replies), newest reference first — if the sender is that conversation's contact, so that
    a forged In-Reply-To cannot put a stranger's mail into someone else's conversation."""
    if not ids:
        return None
    external_ids = [inbound_key(inbox_id, i) for i in ids]
    row = await conn.fetchrow(
        """WITH found AS (
               SELECT m.conversation_id, array_position($2::text[], m.external_id) AS rank
                 FROM messages m WHERE m.channel = 'email' AND m.external_id = ANY($2::text[])
               UNION ALL
               SELECT m.conversation_id, array_position($3::text[], d.external_id)
                 FROM deliveries d JOIN messages m ON m.id = d.message_id
                WHERE d.channel = 'email' AND d.external_id = ANY($3::text[]))
           SELECT c.id, c.thread_key FROM found JOIN conversations c ON c.id = found.conversation_id
            WHERE c.inbox_id = $1 AND c.thread_key IS NOT NULL AND """
        + _SENDER_IS_CONTACT.replace("$3", "$4")
        + " ORDER BY found.rank LIMIT 1",
        UUID(inbox_id),
        external_ids,
        ids,
        sender,
    )
    return Thread(str(row["id"]), row["thread_key"]) if row is not None else None


# The sender ($3) is one of the conversation's contact's addresses.
_SENDER_IS_CONTACT = """(
    EXISTS (SELECT 1 FROM contact_identities i WHERE i.contact_id = c.contact_id
             AND i.channel = 'email' AND i.external_id = $3)
    OR EXISTS (SELECT 1 FROM contacts k WHERE k.id = c.contact_id AND lower(k.email) = $3))"""


def inbound_key(inbox_id: str, message_id: str) -> str:
    """A customer mail's external id: its Message-ID, per inbox (one mail sent to two of our
    inboxes is one message in each)."""
    return f"{inbox_id}:{message_id}"


async def email_inbox_addresses(conn: Conn) -> dict[str, dict[str, Any]]:
    """Every email inbox by its (lower-case) address."""
    rows = await conn.fetch(
        "SELECT i.id, i.brand_id, i.address, i.name, b.name AS brand_name FROM inboxes i"
        " JOIN brands b ON b.id = i.brand_id WHERE i.channel = 'email'"
    )
    return {
        r["address"].lower(): {
            "id": str(r["id"]),
            "brand_id": str(r["brand_id"]),
            "address": r["address"],
            "name": r["name"],
            "brand_name": r["brand_name"],
        }
        for r in rows
    }


@dataclass(frozen=True, slots=True)
class OutgoingContext:
    """Everything an outgoing mail is built from."""

    message_id: int
    conversation_id: str
    author_kind: str
    text: str
    inbox_address: str
    sender_name: str
    subject: str | None
    reply_token: str | None
    to_address: str | None
    to_name: str | None
    # Message-IDs of the thread so far, oldest first, and the customer's latest.
    thread: tuple[str, ...]
    in_reply_to: str | None
    # Why the customer's latest mail came from a machine, if it did.
    last_automated: str | None
    # The rating question sent on resolve (server/pipeline/survey.py), not an acknowledgement.
    survey: bool = False


async def outgoing_context(conn: Conn, message_id: int) -> OutgoingContext | None:
    row = await conn.fetchrow(
        """SELECT m.id, m.conversation_id, m.seq, m.author_kind, m.text, i.address, i.name,
                  m.meta ? 'csat' AS survey,
                  b.name AS brand_name, c.subject, c.reply_token, k.name AS contact_name,
                  coalesce(
                      (SELECT ci.external_id FROM contact_identities ci
                        WHERE ci.contact_id = c.contact_id AND ci.channel = 'email'
                        ORDER BY ci.id DESC LIMIT 1),
                      k.email) AS to_address
             FROM messages m
             JOIN conversations c ON c.id = m.conversation_id
             JOIN inboxes i ON i.id = c.inbox_id
             JOIN brands b ON b.id = c.brand_id
             JOIN contacts k ON k.id = c.contact_id
            WHERE m.id = $1""",
        message_id,
    )
    if row is None:
        return None
    earlier = await conn.fetch(
        """SELECT m.direction, m.meta->>'message_id' AS inbound_id,
                  m.meta->>'automated' AS automated,
                  d.external_id AS outbound_id
             FROM messages m LEFT JOIN deliveries d ON d.message_id = m.id AND d.channel = 'email'
            WHERE m.conversation_id = $1 AND m.seq < $2 ORDER BY m.seq""",
        row["conversation_id"],
        row["seq"],
    )
    thread: list[str] = []
    in_reply_to = None
    last_automated = None
    for e in earlier:
        if e["direction"] == "in" and e["inbound_id"]:
            thread.append(e["inbound_id"])
            in_reply_to = e["inbound_id"]
            last_automated = e["automated"]
        elif e["outbound_id"]:
            thread.append(e["outbound_id"])
    return OutgoingContext(
        message_id=row["id"],
        conversation_id=str(row["conversation_id"]),
        author_kind=row["author_kind"],
        text=row["text"],
        inbox_address=row["address"],
        sender_name=row["brand_name"] or row["name"],
        subject=row["subject"],
        reply_token=row["reply_token"],
        to_address=row["to_address"],
        to_name=row["contact_name"],
        thread=tuple(dict.fromkeys(thread)),
        in_reply_to=in_reply_to,
        last_automated=last_automated,
        survey=row["survey"],
    )
