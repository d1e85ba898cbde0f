"""The server's WebchatBackend: the web chat channel's port over the store and the pipeline."""

from __future__ import annotations

from typing import Protocol

from channels.base import InboundMessage, Sender
from channels.webchat import identity
from channels.webchat.port import (
    HISTORY_MESSAGES,
    EmailCodeRefused,
    IdentityRefused,
    SessionKeyUsed,
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
from server.store import Pool, brand_texts, visitors
from server.store.group_read import GroupRead
from server.store.messages import earlier_messages

PAGE = 500
CODE_MAIL = """Your code to confirm {email} in the chat is {code}.

It is good for {minutes} minutes. If you did not ask for it, ignore this mail: without the
code nobody is shown your conversations.
"""


class Mailer(Protocol):
    """Sends a short mail in the background (server/services/account_mail.py)."""

    @property
    def enabled(self) -> bool: ...

    def send(self, to: str, subject: str, text: str) -> bool:
        """Queue a mail; False when it cannot be sent now."""
        ...


class WebchatBackendImpl:
    """WebchatBackend over the store and the pipeline; ``mailer`` sends the one-time email
    codes (None or disabled: codes are refused)."""

    def __init__(self, pool: Pool, pipeline: Pipeline, mailer: Mailer | None = None) -> None:
        self._pool = pool
        self._pipeline = pipeline
        # A reconnect storm's hellos, read a batch at a time (store/group_read.py).
        self._hellos: GroupRead[tuple[str, str], visitors.Hello] = GroupRead(
            pool, visitors.at_hellos
        )
        # Set by bootstrap once the mail relay is wired, after the hubs that take this backend.
        self.mailer = mailer

    async def close(self) -> None:
        """Hellos still being read at shutdown are cancelled before the pool closes: their
        sockets are already gone, and a read left running would outlive the pool."""
        await self._hellos.close()

    async def open_visitor(
        self,
        inbox_address: str,
        visitor_id: str,
        details: VisitorDetails,
        *,
        keyed_within: float | None = None,
    ) -> Visitor:
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                inbox = await store.inbox_by_address(conn, "webchat", inbox_address)
            except NotFound:
                raise UnknownInbox(inbox_address) from None
            if keyed_within is not None and await visitors.made_before(
                conn, visitor_id, keyed_within
            ):
                raise SessionKeyUsed(visitor_id)
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
                return Visitor(
                    visitor_id, inbox["id"], inbox_address, contact_id, identifier, verified=True
                )
            # Self-asserted: a contact of the visitor's own, whatever address was typed.
            sender = Sender(external_id=visitor_id, name=details.name, email=details.email)
            contact_id = await store.resolve_contact(conn, inbox["brand_id"], "webchat", sender)
            if details.name or details.email:
                await store.fill_profile(conn, contact_id, details.name, details.email)
            verified = await visitors.contact_verified(conn, contact_id)
        return Visitor(visitor_id, inbox["id"], inbox_address, contact_id, verified=verified)

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

    async def send_email_code(self, visitor: Visitor, email: str) -> int:
        if self.mailer is None or not self.mailer.enabled:
            raise EmailCodeRefused(503, "email codes are off: this server sends no mail")
        code = identity.new_code()
        async with self._pool.acquire() as conn, conn.transaction():
            if await visitors.contact_verified(conn, visitor.contact_id):
                raise EmailCodeRefused(409, "the visitor is verified already")
            digest = identity.code_digest(visitor.visitor_id, code)
            ttl = identity.CODE_TTL_SECONDS
            await visitors.put_email_code(conn, visitor.visitor_id, email, digest, ttl)
        text = CODE_MAIL.format(email=email, code=code, minutes=ttl // 60)
        if not self.mailer.send(email, f"Your chat code: {code}", text):
            raise EmailCodeRefused(503, "the code could not be sent now; ask again later")
        return ttl

    async def confirm_email_code(self, visitor: Visitor, code: str) -> Visitor:
        async with self._pool.acquire() as conn:
            # The refusal is raised after the transaction, so a wrong try stays counted.
            refusal: EmailCodeRefused | None = None
            async with conn.transaction():
                pending = await visitors.pending_code(conn, visitor.visitor_id)
                if pending is None:
                    refusal = EmailCodeRefused(410, "no code is waiting; ask for one")
                elif pending["expired"] or pending["attempts"] >= identity.CODE_ATTEMPTS:
                    await visitors.drop_email_code(conn, visitor.visitor_id)
                    refusal = EmailCodeRefused(410, "the code has expired; ask for a new one")
                elif not identity.code_matches(visitor.visitor_id, code, pending["digest"]):
                    await visitors.count_wrong_code(conn, visitor.visitor_id)
                    left = identity.CODE_ATTEMPTS - pending["attempts"] - 1
                    if left <= 0:
                        await visitors.drop_email_code(conn, visitor.visitor_id)
                    refusal = EmailCodeRefused(
                        422 if left else 410,
                        f"wrong code; {left} tries left" if left else "wrong code; ask again",
                    )
                else:
                    inbox = await store.inbox_by_address(conn, "webchat", visitor.inbox_address)
                    contact_id = await visitors.join_proved_email(
                        conn,
                        inbox["brand_id"],
                        visitor.visitor_id,
                        pending["contact_id"],
                        pending["email"],
                    )
            if refusal is not None:
                raise refusal
        return Visitor(
            visitor.visitor_id, visitor.inbox_id, visitor.inbox_address, contact_id, verified=True
        )

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

    async def greet(self, inbox_address: str, visitor_id: str) -> tuple[Visitor, str | None]:
        found = await self._hellos.get((inbox_address, visitor_id))
        if found is None:
            raise UnknownInbox(inbox_address)
        inbox_id, contact_id, current = found
        if contact_id is None:
            raise UnknownVisitor(visitor_id)
        return Visitor(visitor_id, inbox_id, inbox_address, contact_id), current

    async def history(self, visitor: Visitor, current: str | None) -> list[MessageView]:
        async with self._pool.acquire() as conn:
            return await earlier_messages(
                conn, visitor.inbox_id, visitor.contact_id, current, HISTORY_MESSAGES
            )

    async def greeting(self, visitor: Visitor, language: str | None) -> str:
        async with self._pool.acquire() as conn:
            inbox = await store.inbox_by_address(conn, "webchat", visitor.inbox_address)
            return await brand_texts.text_for(conn, inbox["brand_id"], "greeting", language)

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
