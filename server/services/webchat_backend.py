"""The server's WebchatBackend: the web chat channel's port over the store and the pipeline."""

from __future__ import annotations

from channels.base import InboundMessage, Sender
from channels.webchat import identity
from channels.webchat.port import (
    IdentityRefused,
    UnknownFile,
    UnknownInbox,
    UnknownVisitor,
    Visitor,
    VisitorDetails,
)
from server import store
from server.errors import NotFound
from server.payloads import MessageView
from server.pipeline.flow import Pipeline
from server.store import Pool, visitors

PAGE = 500


class WebchatBackendImpl:
    """WebchatBackend over the store and the pipeline."""

    def __init__(self, pool: Pool, pipeline: Pipeline) -> None:
        self._pool = pool
        self._pipeline = pipeline

    async def open_visitor(
        self, inbox_address: str, visitor_id: str, details: VisitorDetails
    ) -> Visitor:
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                inbox = await store.inbox_by_address(conn, "webchat", inbox_address)
            except NotFound:
                raise UnknownInbox(inbox_address) from None
            if details.identifier is not None:
                identifier = await self._vouched_for(conn, inbox, details)
                contact_id = await visitors.join_verified(
                    conn,
                    inbox["brand_id"],
                    visitor_id,
                    identifier,
                    email=identity.email_of(identifier),
                    name=details.name,
                )
                return Visitor(visitor_id, inbox["id"], inbox_address, contact_id, identifier)
            # Self-asserted: a contact of the visitor's own, whatever address was typed.
            sender = Sender(external_id=visitor_id, name=details.name, email=details.email)
            contact_id = await store.resolve_contact(conn, inbox["brand_id"], "webchat", sender)
            if details.name or details.email:
                await store.fill_profile(conn, contact_id, details.name, details.email)
        return Visitor(visitor_id, inbox["id"], inbox_address, contact_id)

    @staticmethod
    async def _vouched_for(conn: store.Conn, inbox: store.Inbox, details: VisitorDetails) -> str:
        """The identifier, if its hash is the HMAC made with the inbox's secret; else
        IdentityRefused, saying why."""
        assert details.identifier is not None
        secret = await visitors.identity_secret(conn, inbox["id"])
        if secret is None:
            raise IdentityRefused(
                f"inbox {inbox['address']!r} verifies no identities (no identity secret set)"
            )
        if not identity.hash_matches(secret, details.identifier, details.identifier_hash or ""):
            raise IdentityRefused(
                "identifier_hash is not the HMAC-SHA256 of identifier with this inbox's"
                " identity secret"
            )
        return details.identifier

    async def find_visitor(self, inbox_address: str, visitor_id: str) -> Visitor:
        async with self._pool.acquire() as conn:
            try:
                inbox = await store.inbox_by_address(conn, "webchat", inbox_address)
            except NotFound:
                raise UnknownInbox(inbox_address) from None
            contact_id = await store.contact_by_identity(conn, "webchat", visitor_id)
        if contact_id is None:
            raise UnknownVisitor(visitor_id)
        return Visitor(visitor_id, inbox["id"], inbox_address, str(contact_id))

    async def current_conversation(self, visitor: Visitor) -> str | None:
        async with self._pool.acquire() as conn:
            return await store.latest_conversation_id(conn, visitor.inbox_id, visitor.contact_id)

    async def messages_after(self, conversation_id: str, after_seq: int) -> list[MessageView]:
        async with self._pool.acquire() as conn:
            return await store.messages_after(conn, conversation_id, after_seq, PAGE)

    async def receive(self, message: InboundMessage) -> tuple[MessageView, bool]:
        self._pipeline.admit(message.channel)
        stored = await self._pipeline.ingest(message)
        return stored.message, stored.duplicate

    async def typing(self, conversation_id: str, active: bool) -> None:
        await self._pipeline.typing(conversation_id, "customer", active)

    async def attachment(
        self, visitor: Visitor, message_id: int, position: int
    ) -> tuple[str, str, bytes]:
        async with self._pool.acquire() as conn:
            found = await store.attachment(
                conn,
                message_id,
                position,
                contact_id=visitor.contact_id,
                inbox_id=visitor.inbox_id,
            )
        if found is None:
            raise UnknownFile(f"no attachment {position} on message {message_id} for the visitor")
        return found
