"""Customer data rights: export everything held about a contact as a ZIP, and erase it.

The ZIP holds JSON files (the contact, its identities, conversations, messages, orders, and
indexes of its files and mails) beside the files themselves (``attachments/``) and the raw
mails as they arrived (``mail/*.eml``); README.txt says what each file is. Files are read from
the database one at a time and compressed off the event loop, so a contact with many large
files neither fills the memory nor stalls the loop.

Both operations are recorded in the audit log ("contact.exported", "contact.erased"), naming
the contact by its id only. docs/privacy.md is the user's account of both.
"""

from __future__ import annotations

import asyncio
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from server import events, store
from server.events import Event
from server.live.bus import EventBus
from server.store import Pool, audit, mail, privacy

README = """\
Everything Switchboard holds about one contact, exported on {when}.

contact.json        the contact: name, email address, phone, agents' notes, labels, time
                    zone, VIP flag, tier, value, brand
identities.json     each way the contact reached the brand (web chat visitor, mail address,
                    Telegram or Slack user) and what that channel told about them
conversations.json  the contact's conversations: channel, inbox, status, subject, dates
messages.json       every message of those conversations, the customer's and the answers,
                    with what the bot understood of each (nlu) and the channel's details (meta)
orders.json         the orders tied to the contact
ratings.json        the contact's satisfaction ratings (1 to 5) and comments, per conversation
notes.json          what agents wrote about the contact's conversations (internal notes)
bot_reviews.json    agents' "the bot got this wrong" flags and bot trainers' verdicts on the
                    contact's messages (the intent meant, notes, words marked as entities)
attachments.json    the files sent in those conversations; each is in attachments/
mail.json           the mails received from the contact; each, exactly as it arrived, in mail/
"""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks, for the audit log: an agent (``id``) or the admin token / a command."""

    label: str
    id: str | None = None
    address: str | None = None


def _json(value: Any) -> bytes:
    # Decimal (a contact's value) is written as text, the rest as orjson writes it.
    return orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2)


def _safe_name(filename: str) -> str:
    """A file name that cannot climb out of its folder nor trouble an unzipping tool."""
    cleaned = re.sub(r"[^\w .()+-]", "_", filename).strip(". ")
    return cleaned[:120] or "file"


async def export_contact(pool: Pool, contact_id: str, out: IO[bytes], actor: Actor) -> None:
    """Write the contact's ZIP to ``out``; NotFound when there is no such contact."""
    async with pool.acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            data = await privacy.contact_data(conn, contact_id)
            archive = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)
            try:
                await _write_data(conn, archive, data)
            finally:
                await asyncio.to_thread(archive.close)
        brand = await privacy.contact_brand(conn, contact_id)
        await audit.record(
            conn,
            action="contact.exported",
            actor_id=actor.id,
            actor_label=actor.label,
            brand_id=brand,
            target_kind="contact",
            target_id=contact_id,
            detail={
                "conversations": len(data["conversations"]),
                "messages": len(data["messages"]),
                "attachments": len(data["attachments"]),
                "mail": len(data["mail"]),
                "orders": len(data["orders"]),
                "ratings": len(data["ratings"]),
                "notes": len(data["notes"]),
                "bot_reviews": len(data["bot_reviews"]),
            },
            address=actor.address,
        )


async def _write_data(
    conn: store.Conn, archive: zipfile.ZipFile, data: privacy.ContactData
) -> None:
    async def put(name: str, content: bytes) -> None:
        await asyncio.to_thread(archive.writestr, name, content)

    when = datetime.now(UTC).isoformat(timespec="seconds")
    await put("README.txt", README.format(when=when).encode())
    await put("contact.json", _json(data["contact"]))
    for name in (
        "identities",
        "conversations",
        "messages",
        "orders",
        "ratings",
        "notes",
        "bot_reviews",
    ):
        await put(f"{name}.json", _json(data[name]))
    files = []
    for ref in data["attachments"]:
        path = f"attachments/{ref['message_id']}-{ref['position']}-{_safe_name(ref['filename'])}"
        await put(path, await privacy.attachment_content(conn, ref["id"]))
        files.append({**ref, "path": path})
    await put("attachments.json", _json(files))
    mails = []
    for receipt in data["mail"]:
        path = f"mail/{receipt['id']}.eml"
        await put(path, await mail.raw_receipt(conn, receipt["id"]) or b"")
        mails.append({**receipt, "path": path})
    await put("mail.json", _json(mails))


async def erase_contact(
    pool: Pool, contact_id: str, actor: Actor, bus: EventBus | None = None
) -> privacy.Erased:
    """Erase the contact (store/privacy.py says what that does) and record it, in one
    transaction; then tell the consoles (when given the bus) that its conversations changed:
    each is stored as a conversation.updated event ("erased") with its anonymised view."""
    async with pool.acquire() as conn, conn.transaction():
        brand = await privacy.contact_brand(conn, contact_id)
        erased, conversation_ids = await privacy.erase_contact(conn, contact_id)
        await audit.record(
            conn,
            action="contact.erased",
            actor_id=actor.id,
            actor_label=actor.label,
            brand_id=brand,
            target_kind="contact",
            target_id=contact_id,
            detail=erased,
            address=actor.address,
        )
        views = await store.conversations_by_id(conn, conversation_ids)
        stored = await store.store_events(
            conn,
            [
                Event(
                    events.CONVERSATION_UPDATED,
                    v["id"],
                    {"conversation": v, "change": "erased"},
                )
                for v in views
            ],
        )
    if bus is not None:
        for event in stored:
            await bus.publish(event)
    return erased
