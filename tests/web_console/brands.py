"""Two brands for access tests: the demo shop and the outdoor brand, each with a customer's
conversation (with a file), and one console user per role in each."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from channels.base import Attachment, InboundMessage, Sender
from server.services import demo
from server.services.agents import create_agent
from server.store import organisation as org
from tests.harness import RunningServer

PASSWORD = "correct-horse-battery"
ROLES = ("supervisor", "agent", "analyst", "designer", "editor")


@dataclass(frozen=True)
class Brand:
    slug: str
    conversation_id: str
    message_id: int
    contact_id: str


async def conversation_in(server: RunningServer, inbox: str, text: str) -> Brand:
    """A web chat customer's first message, with a file, in the inbox's brand."""
    visitor = uuid.uuid4().hex
    stored = await server.services.pipeline.ingest(
        InboundMessage(
            channel="webchat",
            inbox_address=inbox,
            external_id=f"m-{visitor}",
            sender=Sender(external_id=visitor, name=f"Customer of {inbox}"),
            text=text,
            attachments=(Attachment("receipt.txt", "text/plain", b"paid 12 EUR"),),
        )
    )
    await server.services.pipeline.settled()
    slug = demo.BRAND_SLUG if inbox == demo.WEBCHAT_INBOX else demo.OTHER_BRAND_SLUG
    conversation = stored.message["conversation_id"]
    async with server.services.pool.acquire() as conn:
        contact = await conn.fetchval(
            "SELECT contact_id::text FROM conversations WHERE id = $1::uuid", conversation
        )
    return Brand(slug, conversation, stored.message["id"], contact)


async def message_from(server: RunningServer, inbox: str, brand: Brand, text: str) -> int:
    """The customer of the brand's conversation writes again; the new message's id."""
    async with server.services.pool.acquire() as conn:
        visitor = await conn.fetchval(
            "SELECT i.external_id FROM contact_identities i JOIN conversations c"
            " ON c.contact_id = i.contact_id WHERE c.id = $1::uuid",
            brand.conversation_id,
        )
    stored = await server.services.pipeline.ingest(
        InboundMessage(
            channel="webchat",
            inbox_address=inbox,
            external_id=f"m-{uuid.uuid4().hex}",
            sender=Sender(external_id=visitor),
            text=text,
        )
    )
    return int(stored.message["id"])


async def two_brands(server: RunningServer) -> tuple[Brand, Brand]:
    await demo.seed_other_brand(server.services.pool)
    shop = await conversation_in(server, demo.WEBCHAT_INBOX, "my parcel is late")
    outdoor = await conversation_in(server, demo.OTHER_WEBCHAT_INBOX, "my tent is torn")
    return shop, outdoor


async def person(server: RunningServer, brand: str, role: str, teams: Sequence[str] = ()) -> str:
    """A console user holding ``role`` in ``brand`` (or an admin); returns their email."""
    email = f"{role}-{brand}-{uuid.uuid4().hex[:6]}@example.test"
    await create_agent(
        server.services.pool,
        email=email,
        name=f"{role} of {brand}",
        password=PASSWORD,
        role=role,
        brand=None if role == "admin" else brand,
    )
    if teams:
        async with server.services.pool.acquire() as conn:
            await org.update_agent(conn, email, teams=list(teams), brand=brand)
    return email


async def signed_in(server: RunningServer, email: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=server.base_url)
    response = await http.post("/console/api/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return http
