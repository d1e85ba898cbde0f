"""A contact's data rights in SQL: read everything held about a contact (for its export), and
erase it. ``anonymise_conversations`` is shared with the retention sweep (store/retention.py).

Where a contact's data lives (every table of migrations 0001-0011 was read for this):

- ``contacts`` (name, email, tier, value, VIP) and ``contact_identities`` (external ids,
  profiles);
- its ``conversations`` (subject, mail thread key, priority explanation) and their
  ``messages`` (text, meta with the mail's full text and Message-ID, NLU, the channel's
  external id, which for web chat holds the visitor id), ``attachments`` (the files),
  ``deliveries`` (the channel's id of each reply, which for Telegram holds the chat id, and
  the bounce report naming the address), ``events`` (conversation views with the contact's
  name and address, message previews);
- ``mail_receipts`` (the raw mail, its sender and subject), tied to a conversation, to a
  message's meta, or only by sender address when the mail was quarantined;
- ``telegram_held_updates`` (updates as Telegram sent them, held while a bot connects);
- ``orders`` (tied by contact_id; the order itself is the brand's record);
- ``csat`` (their ratings and comments) and ``notes`` (what agents wrote about their
  conversations), since migrations 0013 and 0015; ``contacts`` gained phone, notes, labels
  and time zone in 0020. ``messages.words`` (0021; since 0025 a trigger's) is made from the
  text, and ``message_embeddings`` (0016) drops a message's vector when its text changes, so
  both follow the tombstones.

Nothing else holds it (read again up to migration 0026): ``assignments``, ``sla_breaches``,
``activities``, ``kb_article_uses``, ``kb_article_outcomes`` and ``audit_log`` name the
contact or conversation by id only; a conversation's labels are the agents' words.
"""

from __future__ import annotations

from typing import Any, TypedDict
from uuid import UUID

import orjson

from server.errors import NotFound
from server.store.views import Conn

# What an erased or anonymised message reads.
TOMBSTONE = "[erased]"


class AttachmentRef(TypedDict):
    id: int
    message_id: int
    position: int
    filename: str
    content_type: str
    size: int


class MailRef(TypedDict):
    id: int
    received_at: str
    state: str


class ContactData(TypedDict):
    """Everything held about a contact that fits in JSON; the files and raw mails are
    listed here and read one at a time (``attachment_content``, mail.raw_receipt)."""

    contact: dict[str, Any]
    identities: list[dict[str, Any]]
    conversations: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    ratings: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    bot_reviews: list[dict[str, Any]]
    attachments: list[AttachmentRef]
    mail: list[MailRef]


class Anonymised(TypedDict):
    """What anonymising conversations did, in counts."""

    conversations: int
    messages: int
    attachments: int
    mail_receipts: int
    events: int


class Erased(Anonymised):
    """What an erasure did, in counts (the audit entry's detail)."""

    identities: int
    orders_detached: int
    telegram_updates: int
    slack_events: int


def contact_uuid(contact_id: str) -> UUID:
    try:
        return UUID(contact_id)
    except ValueError:
        raise NotFound(f"no contact {contact_id!r}") from None


async def contact_brand(conn: Conn, contact_id: str) -> str:
    """The contact's brand id; NotFound when there is no such contact."""
    brand = await conn.fetchval(
        "SELECT brand_id FROM contacts WHERE id = $1", contact_uuid(contact_id)
    )
    if brand is None:
        raise NotFound(f"no contact {contact_id!r}")
    return str(brand)


async def contacts_by_email(conn: Conn, email: str) -> list[dict[str, str]]:
    """The id and brand id of every contact with this address."""
    rows = await conn.fetch(
        "SELECT id, brand_id FROM contacts WHERE lower(email) = lower($1) ORDER BY id", email
    )
    return [{"id": str(r["id"]), "brand_id": str(r["brand_id"])} for r in rows]


# The contact's mail receipts: those of its conversations and messages, and quarantined ones
# from its addresses to its brand's inboxes (the plus-address part of a recipient dropped).
_RECEIPTS_SQL = r"""
    SELECT r.id FROM mail_receipts r
     WHERE r.conversation_id IN (SELECT id FROM conversations WHERE contact_id = $1)
        OR r.id IN (SELECT (m.meta->>'receipt_id')::bigint FROM messages m
                      JOIN conversations c ON c.id = m.conversation_id
                     WHERE c.contact_id = $1 AND m.meta ? 'receipt_id')
        OR (r.conversation_id IS NULL AND lower(r.mail_from) = ANY($2::text[])
            AND EXISTS (SELECT 1 FROM inboxes i, unnest(r.rcpt_tos) AS rcpt(address)
                         WHERE i.brand_id = $3 AND i.channel = 'email'
                           AND lower(i.address)
                               = regexp_replace(lower(rcpt.address), '\+[^@]*@', '@')))
"""


async def _addresses(conn: Conn, contact: UUID) -> list[str]:
    """The contact's mail addresses: its own and those of its email identities."""
    rows = await conn.fetch(
        "SELECT lower(email) AS a FROM contacts WHERE id = $1 AND email IS NOT NULL"
        " UNION SELECT lower(external_id) FROM contact_identities"
        " WHERE contact_id = $1 AND channel = 'email'",
        contact,
    )
    return [r["a"] for r in rows]


async def contact_data(conn: Conn, contact_id: str) -> ContactData:
    """Everything held about the contact; NotFound when there is none. Call in a
    repeatable-read transaction for one consistent picture."""
    contact = contact_uuid(contact_id)
    row = await conn.fetchrow(
        """SELECT c.id, c.brand_id, b.slug AS brand, c.name, c.email, c.vip, c.tier,
                  c.lifetime_value, c.created_at, c.updated_at, c.erased_at,
                  c.phone, c.notes, c.labels, c.time_zone
             FROM contacts c JOIN brands b ON b.id = c.brand_id WHERE c.id = $1""",
        contact,
    )
    if row is None:
        raise NotFound(f"no contact {contact_id!r}")
    identities = await conn.fetch(
        "SELECT channel, external_id, profile, created_at FROM contact_identities"
        " WHERE contact_id = $1 ORDER BY id",
        contact,
    )
    conversations = await conn.fetch(
        """SELECT c.id, c.channel, i.address AS inbox, i.name AS inbox_name, c.status,
                  c.subject, c.language, c.intent, c.handoff_reason, a.name AS assignee,
                  c.created_at, c.last_message_at, c.resolved_at, c.anonymised_at
             FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
             LEFT JOIN agents a ON a.id = c.assignee_id
            WHERE c.contact_id = $1 ORDER BY c.created_at, c.id""",
        contact,
    )
    messages = await conn.fetch(
        """SELECT m.id, m.conversation_id, m.seq, m.direction, m.author_kind,
                  a.name AS author_name, m.channel, m.text, m.created_at, m.language,
                  m.sentiment, m.nlu, m.meta, d.status AS delivery_status
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
             LEFT JOIN agents a ON a.id = m.author_id
             LEFT JOIN deliveries d ON d.message_id = m.id
            WHERE c.contact_id = $1 ORDER BY c.created_at, c.id, m.seq""",
        contact,
    )
    orders = await conn.fetch(
        "SELECT number, status, carrier, tracking_number, estimated_delivery, delivered_on,"
        " items, created_at FROM orders WHERE contact_id = $1 ORDER BY created_at, number",
        contact,
    )
    ratings = await conn.fetch(
        """SELECT s.conversation_id, s.rating, s.comment, s.asked_at, s.answered_at
             FROM csat s JOIN conversations c ON c.id = s.conversation_id
            WHERE c.contact_id = $1 ORDER BY s.asked_at, s.conversation_id""",
        contact,
    )
    notes = await conn.fetch(
        """SELECT n.conversation_id, a.name AS author_name, n.text, n.created_at
             FROM notes n JOIN conversations c ON c.id = n.conversation_id
             LEFT JOIN agents a ON a.id = n.author_id
            WHERE c.contact_id = $1 ORDER BY n.conversation_id, n.id""",
        contact,
    )
    # Agents' "bot got this wrong" flags and trainers' verdicts on the contact's messages
    # (issue 19's review inbox): their notes and annotations quote the customer.
    reviews = await conn.fetch(
        """SELECT m.id AS message_id, m.conversation_id,
                  coalesce((SELECT jsonb_agg(jsonb_build_object(
                                'intent', f.intent, 'note', f.note, 'at', f.created_at)
                                ORDER BY f.id)
                              FROM bot_flags f WHERE f.message_id = m.id), '[]') AS flags,
                  r.status AS verdict, r.intent AS intent, r.entities, r.reviewed_at
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
             LEFT JOIN bot_reviews r ON r.message_id = m.id
            WHERE c.contact_id = $1
              AND (r.message_id IS NOT NULL
                   OR EXISTS (SELECT 1 FROM bot_flags f WHERE f.message_id = m.id))
            ORDER BY m.id""",
        contact,
    )
    files = await conn.fetch(
        """SELECT a.id, a.message_id, a.position, a.filename, a.content_type, a.size
             FROM attachments a JOIN messages m ON m.id = a.message_id
             JOIN conversations c ON c.id = m.conversation_id
            WHERE c.contact_id = $1 ORDER BY a.message_id, a.position""",
        contact,
    )
    receipts = await conn.fetch(
        f"SELECT id, received_at, state FROM mail_receipts WHERE id IN ({_RECEIPTS_SQL})"
        " ORDER BY id",
        contact,
        await _addresses(conn, contact),
        row["brand_id"],
    )
    return {
        "contact": {k: v for k, v in dict(row).items() if k != "brand_id"},
        "identities": [dict(r) for r in identities],
        "conversations": [dict(r) for r in conversations],
        "messages": [dict(r) for r in messages],
        "orders": [dict(r) for r in orders],
        "ratings": [dict(r) for r in ratings],
        "notes": [dict(r) for r in notes],
        "bot_reviews": [dict(r) for r in reviews],
        "attachments": [
            AttachmentRef(
                id=r["id"],
                message_id=r["message_id"],
                position=r["position"],
                filename=r["filename"],
                content_type=r["content_type"],
                size=r["size"],
            )
            for r in files
        ],
        "mail": [
            MailRef(id=r["id"], received_at=r["received_at"].isoformat(), state=r["state"])
            for r in receipts
        ],
    }


async def attachment_content(conn: Conn, attachment_id: int) -> bytes:
    value = await conn.fetchval("SELECT content FROM attachments WHERE id = $1", attachment_id)
    return bytes(value) if value is not None else b""


async def delete_raw_mail(conn: Conn, ids: list[UUID]) -> int:
    """Delete the raw mail of these conversations; returns how many. Raw mail is tied by
    conversation (ON DELETE SET NULL would keep it) or by a message's meta."""
    gone = await conn.fetchval(
        """WITH gone AS (
               DELETE FROM mail_receipts WHERE conversation_id = ANY($1::uuid[])
                   OR id IN (SELECT (meta->>'receipt_id')::bigint FROM messages
                              WHERE conversation_id = ANY($1::uuid[]) AND meta ? 'receipt_id')
               RETURNING 1)
           SELECT count(*) FROM gone""",
        ids,
    )
    return int(gone)


async def anonymise_conversations(conn: Conn, ids: list[UUID]) -> Anonymised:
    """Replace what the conversations say with tombstones and drop what they hold: message
    text (TOMBSTONE), meta, NLU and channel ids; files; raw mail; their events; delivery
    reports (a reply not yet sent never will be); the subject, mail thread key and priority
    explanation. The conversations and their messages stay, as counts for the reports.
    Call inside a transaction. Returns counts."""
    if not ids:
        return Anonymised(conversations=0, messages=0, attachments=0, mail_receipts=0, events=0)
    # The message embedder's lock of each brand (migration 0053), before any message row: a
    # batch holding it (shared) waits on none of our rows, so the resolution's trigger waits
    # only for its commit, not in a deadlock; a batch after it sees the conversations
    # anonymised and stores no vector of their old text (embeddings.save).
    await conn.execute(
        """SELECT pg_advisory_xact_lock(k)
             FROM (SELECT DISTINCT message_embeddings_lock(brand_id) AS k FROM conversations
                    WHERE id = ANY($1::uuid[]) ORDER BY k) AS keys""",
        ids,
    )
    receipts = await delete_raw_mail(conn, ids)
    files = await conn.fetchval(
        """WITH gone AS (
               DELETE FROM attachments a USING messages m
                WHERE m.id = a.message_id AND m.conversation_id = ANY($1::uuid[]) RETURNING 1)
           SELECT count(*) FROM gone""",
        ids,
    )
    await conn.execute(
        """UPDATE deliveries d
              SET detail = CASE WHEN d.status = 'pending' THEN 'erased before it was sent'
                                ELSE NULL END,
                  status = CASE WHEN d.status = 'pending' THEN 'suppressed' ELSE d.status END,
                  report = NULL, external_id = NULL, updated_at = now()
             FROM messages m
            WHERE m.id = d.message_id AND m.conversation_id = ANY($1::uuid[])""",
        ids,
    )
    messages = await conn.fetchval(
        """WITH done AS (
               UPDATE messages SET text = $2, meta = '{}', nlu = NULL, external_id = NULL
                WHERE conversation_id = ANY($1::uuid[]) RETURNING 1)
           SELECT count(*) FROM done""",
        ids,
        TOMBSTONE,
    )
    events = await conn.execute("DELETE FROM events WHERE conversation_id = ANY($1::uuid[])", ids)
    # Agents' notes speak of the customer too, and so may a rating's comment.
    await conn.execute("DELETE FROM notes WHERE conversation_id = ANY($1::uuid[])", ids)
    await conn.execute(
        "UPDATE csat SET comment = NULL WHERE conversation_id = ANY($1::uuid[])", ids
    )
    # An agent's "bot got this wrong" note and a trainer's entity annotations quote the
    # customer; the verdicts themselves stay (they are about the bot, and count in its health).
    await conn.execute(
        """UPDATE bot_flags f SET note = '' FROM messages m
            WHERE m.id = f.message_id AND m.conversation_id = ANY($1::uuid[])""",
        ids,
    )
    await conn.execute(
        """UPDATE bot_reviews r SET entities = '[]' FROM messages m
            WHERE m.id = r.message_id AND m.conversation_id = ANY($1::uuid[])""",
        ids,
    )
    await conn.execute(
        """UPDATE conversations
              SET subject = NULL, priority_parts = '[]', anonymised_at = now(),
                  -- Unique per inbox while set, so it is replaced rather than cleared.
                  thread_key = CASE WHEN thread_key IS NULL THEN NULL
                                    ELSE 'anonymised:' || id END
            WHERE id = ANY($1::uuid[])""",
        ids,
    )
    return Anonymised(
        conversations=len(ids),
        messages=int(messages),
        attachments=int(files),
        mail_receipts=int(receipts),
        events=_count(events),
    )


async def erase_contact(conn: Conn, contact_id: str) -> tuple[Erased, list[str]]:
    """Erase what is held about the contact: its conversations anonymised (and the open ones
    resolved), its identities, quarantined mail and held Telegram updates deleted, its orders
    detached, its name, address and profile cleared. The contact row stays, empty, so its
    conversations still count. Call inside a transaction. Returns the counts and the ids of
    its conversations; NotFound when there is no such contact."""
    contact = contact_uuid(contact_id)
    brand = await conn.fetchval("SELECT brand_id FROM contacts WHERE id = $1 FOR UPDATE", contact)
    if brand is None:
        raise NotFound(f"no contact {contact_id!r}")
    addresses = await _addresses(conn, contact)
    telegram_users = [
        int(r["external_id"])
        for r in await conn.fetch(
            "SELECT external_id FROM contact_identities WHERE contact_id = $1"
            " AND channel = 'telegram' AND external_id ~ '^-?[0-9]{1,19}$'",
            contact,
        )
    ]
    slack_users = [
        str(r["external_id"])
        for r in await conn.fetch(
            "SELECT external_id FROM contact_identities WHERE contact_id = $1"
            " AND channel = 'slack'",
            contact,
        )
    ]
    # Those not tied to a conversation; anonymise_conversations takes the others.
    stray_receipts = await conn.fetchval(
        f"""WITH gone AS (DELETE FROM mail_receipts WHERE id IN ({_RECEIPTS_SQL})
                          AND conversation_id IS NULL RETURNING 1)
            SELECT count(*) FROM gone""",
        contact,
        addresses,
        brand,
    )
    rows = await conn.fetch(
        "SELECT id FROM conversations WHERE contact_id = $1 ORDER BY id FOR UPDATE", contact
    )
    ids = [r["id"] for r in rows]
    done = await anonymise_conversations(conn, ids)
    await conn.execute(
        "UPDATE conversations SET status = 'resolved', resolved_at = coalesce(resolved_at, now()),"
        " updated_at = now() WHERE contact_id = $1 AND status <> 'resolved'",
        contact,
    )
    identities = await conn.execute("DELETE FROM contact_identities WHERE contact_id = $1", contact)
    orders = await conn.execute(
        "UPDATE orders SET contact_id = NULL WHERE contact_id = $1", contact
    )
    held = await _forget_held_updates(conn, telegram_users)
    held_events = await _forget_held_events(conn, slack_users)
    await conn.execute(
        """UPDATE contacts SET name = NULL, email = NULL, tier = NULL, lifetime_value = 0,
                  vip = false, phone = NULL, notes = NULL, labels = '{}', time_zone = NULL,
                  erased_at = now(), updated_at = now() WHERE id = $1""",
        contact,
    )
    erased = Erased(
        conversations=done["conversations"],
        messages=done["messages"],
        attachments=done["attachments"],
        mail_receipts=done["mail_receipts"] + int(stray_receipts),
        events=done["events"],
        identities=_count(identities),
        orders_detached=_count(orders),
        telegram_updates=held,
        slack_events=held_events,
    )
    return erased, [str(i) for i in ids]


async def _forget_held_updates(conn: Conn, users: list[int]) -> int:
    """Delete the held Telegram updates from or to these users. The table is small (updates
    wait there from the webhook's answer until they are read, or while a bot connects), so
    each is read and looked into here."""
    if not users:
        return 0
    rows = await conn.fetch("SELECT bot_id, update_id, body FROM telegram_held_updates")
    theirs = [(r["bot_id"], r["update_id"]) for r in rows if _names_user(r["body"], set(users))]
    await conn.executemany(
        "DELETE FROM telegram_held_updates WHERE bot_id = $1 AND update_id = $2", theirs
    )
    return len(theirs)


async def _forget_held_events(conn: Conn, users: list[str]) -> int:
    """Delete the held Slack events these users wrote (events wait there from the Events
    API's answer until they are read as messages: a few, briefly)."""
    if not users:
        return 0
    who = set(users)
    rows = await conn.fetch("SELECT event_id, body FROM slack_held_events")
    theirs = [r["event_id"] for r in rows if _slack_author(r["body"]) in who]
    await conn.execute("DELETE FROM slack_held_events WHERE event_id = ANY($1::text[])", theirs)
    return len(theirs)


def _slack_author(body: bytes) -> str | None:
    """Who wrote a held Slack event (its ``event.user``), if it says."""
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    event = envelope.get("event") if isinstance(envelope, dict) else None
    user = event.get("user") if isinstance(event, dict) else None
    return user if isinstance(user, str) else None


def _names_user(body: bytes, users: set[int]) -> bool:
    """Whether a Telegram update has one of these users as its sender or chat (at any depth:
    a message, an edit, a callback's message, a reply)."""
    try:
        update = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    stack: list[Any] = [update]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in ("from", "chat", "user"):
                who = item.get(key)
                if isinstance(who, dict) and who.get("id") in users:
                    return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _count(status: str) -> int:
    """The row count of a command status ("DELETE 3", "UPDATE 0")."""
    return int(status.split()[-1])
