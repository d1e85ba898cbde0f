"""A customer's data rights through the admin API, on a real server with real mail: the export
holds exactly the contact's data, and after an erasure no column of any table holds it, while
its conversations still count and the erasure's audit entry stays."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from server.services import demo
from server.store import Pool, merge_contacts
from tests import harness, mail


@dataclass
class Desk:
    running: harness.RunningServer
    admin: httpx.AsyncClient
    agent: httpx.AsyncClient
    relay: mail.Relay

    @property
    def pool(self) -> Pool:
        return self.running.services.pool


@pytest.fixture
async def desk(dsn: str, tmp_path: Path) -> AsyncIterator[Desk]:
    async with mail.relay() as relay:
        settings = harness.settings_for(
            dsn, tmp_path, smtp_relay_url=relay.url, delivery_retry_seconds=0.2
        )
        async with harness.run_server(settings) as running:
            token = running.services.settings.admin_api_token()
            async with (
                httpx.AsyncClient(
                    base_url=running.base_url, headers={"authorization": f"Bearer {token}"}
                ) as admin,
                httpx.AsyncClient(base_url=running.base_url) as agent,
            ):
                login = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
                assert (await agent.post("/console/api/login", json=login)).status_code == 200
                yield Desk(running, admin, agent, relay)


@dataclass
class Customer:
    """A contact reached by mail (with a file), web chat and Telegram, with an order, a
    quarantined mail and a held Telegram update; ``needles``: strings only its data holds."""

    id: str
    needles: list[str]


async def _customer(desk: Desk, key: str, name: str, address: str, telegram: int) -> Customer:
    services = desk.running.services
    assert services.smtp is not None
    msg = mail.mail(
        sender=f"{name} <{address}>",
        subject=f"Parcel {key}-subject",
        body=f"My parcel {key}-body is late.",
        message_id=f"{key}-mid@example.net",
    )
    msg.add_attachment(
        f"%PDF {key}-file".encode(), maintype="application", subtype="pdf", filename="i.pdf"
    )
    await mail.send(services.smtp.port, msg, address)
    await services.mailroom.settled()
    await services.pipeline.settled()
    pool = desk.pool
    contact = str(
        await pool.fetchval(
            "SELECT contact_id FROM contact_identities WHERE channel = 'email'"
            " AND external_id = $1",
            address,
        )
    )
    conversation = await pool.fetchval(
        "SELECT id FROM conversations WHERE contact_id = $1::uuid", contact
    )
    reply = await desk.agent.post(
        f"/console/api/conversations/{conversation}/messages",
        json={"text": f"Dear customer, your IBAN {key}-iban is noted.", "client_id": key},
    )
    assert reply.status_code == 201, reply.text

    async def sent() -> bool:
        return not await pool.fetchval("SELECT count(*) FROM deliveries WHERE status = 'pending'")

    await harness.until(sent)
    # What agents write about the customer: an internal note, the contact's own details.
    note = await desk.agent.post(
        f"/console/api/conversations/{conversation}/notes",
        json={"text": f"Customer mentioned {key}-note on the phone"},
    )
    assert note.status_code == 201, note.text
    details = await desk.agent.patch(
        f"/console/api/conversations/{conversation}/contact",
        json={"phone": f"+33 {telegram % 10**8}", "notes": f"Prefers {key}-pref"},
    )
    assert details.status_code == 200, details.text
    # The same customer on the web chat, linked by an agent (a merge).
    webchat = await harness.customer(desk.running, f"web chat words {key}-chat")
    async with pool.acquire() as conn, conn.transaction():
        visitor_contact = await conn.fetchval(
            "SELECT contact_id FROM conversations WHERE id = $1::uuid", webchat
        )
        visitor = await conn.fetchval(
            "SELECT external_id FROM contact_identities WHERE contact_id = $1", visitor_contact
        )
        await merge_contacts(conn, contact, str(visitor_contact))
        await conn.execute(
            "INSERT INTO contact_identities (contact_id, channel, external_id, profile)"
            " VALUES ($1::uuid, 'telegram', $2, $3)",
            contact,
            str(telegram),
            {"username": f"{key}-tg"},
        )
        update = {
            "update_id": telegram % 1000,
            "message": {
                "message_id": 1,
                "from": {"id": telegram, "first_name": name},
                "chat": {"id": telegram, "type": "private"},
                "text": f"held {key}-held",
            },
        }
        await conn.execute(
            "INSERT INTO telegram_held_updates (bot_id, update_id, body) VALUES (1, $1, $2)",
            telegram % 1000,
            orjson.dumps(update),
        )
        # A Slack message of theirs answered but not yet read (issue 14's held events).
        slack_user = f"U{telegram % 10**6}"
        await conn.execute(
            "INSERT INTO contact_identities (contact_id, channel, external_id)"
            " VALUES ($1::uuid, 'slack', $2)",
            contact,
            slack_user,
        )
        await conn.execute(
            "INSERT INTO slack_held_events (event_id, body) VALUES ($1, $2)",
            f"Ev{key}",
            orjson.dumps(
                {"event": {"type": "message", "user": slack_user, "text": f"{key}-slackheld"}}
            ),
        )
        await conn.execute(
            "INSERT INTO orders (brand_id, number, contact_id, status, items)"
            " SELECT brand_id, $2, $1::uuid, 'shipped', $3 FROM contacts WHERE id = $1::uuid",
            contact,
            f"{key}-order",
            [{"sku": f"{key}-sku"}],
        )
        await conn.execute(
            "INSERT INTO mail_receipts (peer, mail_from, rcpt_tos, raw, state, reason)"
            " VALUES ('192.0.2.1', $1, ARRAY['support+x@demo.switchboard.test'], $2,"
            " 'quarantined', 'cannot parse')",
            address,
            f"Subject: {key}-quarantined\r\n\r\n?".encode(),
        )
        await conn.execute(
            "UPDATE contacts SET tier = 'gold', lifetime_value = 900 WHERE id = $1::uuid", contact
        )
        await conn.execute(
            "INSERT INTO csat (conversation_id, brand_id, rating, comment, answered_at)"
            " SELECT id, brand_id, 2, $2, now() FROM conversations WHERE id = $1",
            conversation,
            f"Slow, {key}-rating",
        )
        # An agent's "bot got this wrong" note and a trainer's annotation quote the customer.
        message = await conn.fetchval(
            "SELECT min(id) FROM messages WHERE conversation_id = $1", conversation
        )
        await conn.execute(
            "INSERT INTO bot_flags (message_id, note) VALUES ($1, $2)",
            message,
            f"means {key}-flag",
        )
        await conn.execute(
            "INSERT INTO bot_reviews (message_id, status, predicted, intent, entities, reviewer)"
            " VALUES ($1, 'relabelled', 'greet', 'order_status', $2, 'trainer')",
            message,
            [{"start": 0, "end": 4, "entity": "order_number", "value": f"{key}-entity"}],
        )
    needles = [
        address,
        name,
        f"{key}-subject",
        f"{key}-body",
        f"{key}-mid",
        f"{key}-file",
        f"{key}-iban",
        f"{key}-chat",
        str(visitor),
        str(telegram),
        f"{key}-tg",
        f"{key}-held",
        f"{key}-slackheld",
        f"{key}-quarantined",
        f"{key}-note",
        f"{key}-pref",
        f"{telegram % 10**8}",
        f"{key}-rating",
        f"{key}-flag",
        f"{key}-entity",
    ]
    return Customer(contact, needles)


async def _columns(pool: Pool) -> list[tuple[str, str, str]]:
    """Every text-ish column of every table: text, JSON, arrays, bytes and the search
    index's words (tsvector)."""
    rows = await pool.fetch(
        """SELECT c.table_name, c.column_name, c.data_type
             FROM information_schema.columns c
             JOIN information_schema.tables t
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
              AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb',
                                  'ARRAY', 'bytea', 'tsvector')
            ORDER BY 1, 2"""
    )
    return [(r["table_name"], r["column_name"], r["data_type"]) for r in rows]


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _holding(pool: Pool, needle: str) -> list[str]:
    """The columns (table.column) where some row holds ``needle`` (any case)."""
    found = []
    for table, column, kind in await _columns(pool):
        if kind == "bytea":
            condition, value = f"position($1::bytea in {_quoted(column)}) > 0", needle.encode()
        else:
            condition = f"strpos(lower({_quoted(column)}::text), lower($1)) > 0"
            value = needle  # type: ignore[assignment]
        sql = f"SELECT EXISTS (SELECT 1 FROM {_quoted(table)} WHERE {condition})"
        if await pool.fetchval(sql, value):
            found.append(f"{table}.{column}")
    return found


async def test_the_export_holds_exactly_the_contacts_data(desk: Desk) -> None:
    ada = await _customer(desk, "ada7781", "Ada Lovelace", "ada@example.com", 7003141592)
    bob = await _customer(desk, "bob5521", "Bob Builder", "bob@example.org", 7002718281)
    response = await desk.admin.get(f"/api/admin/contacts/{ada.id}/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="contact-{ada.id}.zip"'
    )
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = archive.namelist()
    assert {
        "README.txt",
        "contact.json",
        "identities.json",
        "conversations.json",
        "messages.json",
        "orders.json",
        "attachments.json",
        "mail.json",
        "ratings.json",
        "notes.json",
        "bot_reviews.json",
    } <= set(names)
    assert len([n for n in names if n.startswith("attachments/")]) == 1
    # The mail as it arrived, and the quarantined one.
    assert len([n for n in names if n.startswith("mail/")]) == 2
    everything = b"\n".join(archive.read(n) for n in names).lower()
    # An update or event not yet read is not the contact's yet (erasure still deletes it).
    held_only = {"ada7781-held", "ada7781-slackheld"}
    for needle in set(ada.needles) - held_only:
        assert needle.lower().encode() in everything, needle
    for needle in bob.needles:
        assert needle.lower().encode() not in everything, needle
    contact = orjson.loads(archive.read("contact.json"))
    assert (contact["name"], contact["email"], contact["tier"]) == (
        "Ada Lovelace",
        "ada@example.com",
        "gold",
    )
    assert {i["channel"] for i in orjson.loads(archive.read("identities.json"))} == {
        "email",
        "webchat",
        "telegram",
        "slack",
    }
    [order] = orjson.loads(archive.read("orders.json"))
    assert order["number"] == "ada7781-order"
    [rating] = orjson.loads(archive.read("ratings.json"))
    assert (rating["rating"], rating["comment"]) == (2, "Slow, ada7781-rating")
    [note] = orjson.loads(archive.read("notes.json"))
    assert note["text"] == "Customer mentioned ada7781-note on the phone"
    [review] = orjson.loads(archive.read("bot_reviews.json"))
    assert [flag["note"] for flag in review["flags"]] == ["means ada7781-flag"]
    assert (review["verdict"], review["intent"]) == ("relabelled", "order_status")
    [attachment] = orjson.loads(archive.read("attachments.json"))
    assert archive.read(attachment["path"]) == b"%PDF ada7781-file"
    [entry] = (
        await desk.admin.get("/api/admin/audit", params={"action": "contact.exported"})
    ).json()["entries"]
    assert (entry["action"], entry["target_id"]) == ("contact.exported", ada.id)
    assert entry["detail"]["attachments"] == 1


async def test_after_an_erasure_no_table_holds_the_contacts_data(desk: Desk) -> None:
    ada = await _customer(desk, "ada7781", "Ada Lovelace", "ada@example.com", 7003141592)
    bob = await _customer(desk, "bob5521", "Bob Builder", "bob@example.org", 7002718281)
    pool = desk.pool
    # The scan finds every needle before: it looks where the data is.
    for needle in ada.needles + bob.needles:
        assert await _holding(pool, needle), needle
    # The search index's words are scanned too.
    assert "messages.words" in await _holding(pool, "ada7781-body")
    conversations = await pool.fetchval(
        "SELECT count(*) FROM conversations WHERE contact_id = $1::uuid", ada.id
    )
    messages = await pool.fetchval(
        "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " WHERE c.contact_id = $1::uuid",
        ada.id,
    )

    refused = await desk.admin.post(f"/api/admin/contacts/{ada.id}/erase", json={})
    assert refused.status_code == 422
    assert refused.json()["error"] == "confirm: must be true (an erasure cannot be undone)"
    response = await desk.admin.post(f"/api/admin/contacts/{ada.id}/erase", json={"confirm": True})
    assert response.status_code == 200, response.text
    erased = response.json()["erased"]
    assert erased["conversations"] == conversations == 2
    assert erased["identities"] == 4
    assert erased["attachments"] == 1
    assert erased["mail_receipts"] == 2
    assert erased["telegram_updates"] == 1
    assert erased["slack_events"] == 1
    assert erased["orders_detached"] == 1

    for needle in ada.needles:
        assert await _holding(pool, needle) == [], needle
    for needle in bob.needles:
        assert await _holding(pool, needle), needle
    # The conversations still count, their messages as tombstones, all resolved.
    rows = await pool.fetch(
        "SELECT c.status, m.text FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " WHERE c.contact_id = $1::uuid",
        ada.id,
    )
    assert len(rows) == messages
    assert {(r["status"], r["text"]) for r in rows} == {("resolved", "[erased]")}
    # The order stays the brand's, without its customer.
    assert (
        await pool.fetchval("SELECT contact_id FROM orders WHERE number = 'ada7781-order'") is None
    )
    [entry] = (
        await desk.admin.get(
            "/api/admin/audit", params={"target": f"contact:{ada.id}", "action": "contact.erased"}
        )
    ).json()["entries"]
    assert (entry["action"], entry["actor_label"]) == ("contact.erased", "admin token")
    assert entry["detail"]["messages"] == messages
    # Erasing again finds nothing more to erase, and says so.
    again = await desk.admin.post(f"/api/admin/contacts/{ada.id}/erase", json={"confirm": True})
    assert again.json()["erased"]["identities"] == 0


@pytest.mark.parametrize("contact", ["00000000-0000-0000-0000-000000000000", "not-an-id"])
async def test_an_unknown_contact_is_404(desk: Desk, contact: str) -> None:
    export = await desk.admin.get(f"/api/admin/contacts/{contact}/export")
    erase = await desk.admin.post(f"/api/admin/contacts/{contact}/erase", json={"confirm": True})
    assert (export.status_code, erase.status_code) == (404, 404)
    assert export.json()["error"] == f"no contact {contact!r}"
    entries: list[Any] = (
        await desk.admin.get("/api/admin/audit", params={"action": "contact."})
    ).json()["entries"]
    assert entries == []


async def test_retention_is_set_per_brand_through_the_brands_api(desk: Desk) -> None:
    async def demo_brand() -> dict[str, Any]:
        brands = (await desk.admin.get("/api/admin/brands")).json()["brands"]
        found: dict[str, Any] = next(b for b in brands if b["slug"] == "demo")
        return found

    kept = await demo_brand()
    assert (
        kept["retention_days"],
        kept["events_retention_days"],
        kept["files_retention_days"],
    ) == (
        None,
        30,
        None,
    )
    changed = await desk.admin.put(
        "/api/admin/brands/demo", json={"retention_days": 365, "files_retention_days": 90}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["retention_days"] == 365
    # Left out: unchanged; null: kept forever.
    cleared = await desk.admin.put("/api/admin/brands/demo", json={"events_retention_days": None})
    assert cleared.json()["events_retention_days"] is None
    kept = await demo_brand()
    assert (
        kept["retention_days"],
        kept["events_retention_days"],
        kept["files_retention_days"],
    ) == (
        365,
        None,
        90,
    )
    assert kept["retention_action"] == "anonymise"
    deleting = await desk.admin.put("/api/admin/brands/demo", json={"retention_action": "delete"})
    assert deleting.status_code == 200, deleting.text
    assert deleting.json()["retention_action"] == "delete"
    assert (await demo_brand())["retention_action"] == "delete"
    [entry] = (await desk.admin.get("/api/admin/audit", params={"target": "brand:demo"})).json()[
        "entries"
    ][:1]
    assert entry["detail"] == {"retention_action": "delete"}
    for bad in (
        {"retention_days": 0},
        {"files_retention_days": 40_000},
        {"retention_days": "x"},
        {"retention_action": "shred"},
    ):
        refused = await desk.admin.put("/api/admin/brands/demo", json=bad)
        assert refused.status_code == 422
        assert refused.json()["error"].startswith(next(iter(bad))), refused.json()
