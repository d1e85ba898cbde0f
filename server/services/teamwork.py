"""Teamwork in the console: internal notes (stored, published to the consoles as
``note.created``, never to the customer) and canned responses with their variables filled in
for a conversation. The console backend checks who may before it calls these."""

from __future__ import annotations

from collections.abc import Sequence

from server import events, store
from server.errors import InvalidInput
from server.events import Event
from server.live.bus import EventBus
from server.payloads import NoteView
from server.store import Pool, audit, canned, notes
from server.store.canned import CannedView, RenderedCanned

NOTES_PAGE = 200


class Teamwork:
    def __init__(self, pool: Pool, bus: EventBus | None) -> None:
        self._pool = pool
        self._bus = bus

    async def notes(self, conversation_id: str, after_id: int) -> list[NoteView]:
        async with self._pool.acquire() as conn:
            return await notes.notes_after(conn, conversation_id, after_id, NOTES_PAGE)

    async def add_note(
        self, author_id: str, conversation_id: str, text: str, mentions: Sequence[str]
    ) -> NoteView:
        """Store the note and its event in one transaction, then publish it. InvalidInput
        when a mentioned colleague may not see the conversation (they would be told of a
        conversation they cannot open)."""
        wanted = sorted(set(mentions))
        async with self._pool.acquire() as conn, conn.transaction():
            allowed = await notes.who_may_see(conn, conversation_id, wanted) if wanted else set()
            if strangers := [m for m in wanted if m not in allowed]:
                raise InvalidInput(f"mentions: {strangers[0]} may not see this conversation")
            note = await notes.add_note(conn, conversation_id, author_id, text, wanted)
            stored = await store.store_events(
                conn, [Event(events.NOTE_CREATED, conversation_id, {"note": note})]
            )
        if self._bus is not None:
            for event in stored:
                await self._bus.publish(event)
        return note

    async def canned_for(
        self, brand_id: str, values: dict[str, str | None], query: str
    ) -> list[RenderedCanned]:
        """The brand's responses matching the query, each with its text filled in."""
        async with self._pool.acquire() as conn:
            found = await canned.canned(conn, [brand_id], query)
        return [RenderedCanned(**c, rendered=canned.render(c["text"], values)) for c in found]

    async def canned(self, brand_ids: list[str] | None, query: str) -> list[CannedView]:
        """The responses of these brands (every brand's when None) matching the query."""
        async with self._pool.acquire() as conn:
            if brand_ids is None:
                brand_ids = [str(r["id"]) for r in await conn.fetch("SELECT id FROM brands")]
            return await canned.canned(conn, brand_ids, query)

    async def canned_brand(self, canned_id: str) -> str:
        async with self._pool.acquire() as conn:
            return (await canned.canned_by_id(conn, canned_id))["brand_id"]

    async def put_canned(
        self,
        actor: tuple[str, str],
        brand_id: str,
        shortcut: str,
        title: str,
        text: str,
        canned_id: str | None = None,
    ) -> CannedView:
        """Create or change a response, audited as done by ``actor`` (id, label)."""
        async with self._pool.acquire() as conn, conn.transaction():
            view = await canned.put_canned(
                conn, brand_id, shortcut, title, text, actor[0], canned_id
            )
            await audit.record(
                conn,
                action="canned.created" if canned_id is None else "canned.changed",
                actor_id=actor[0],
                actor_label=actor[1],
                brand_id=brand_id,
                target_kind="canned_response",
                target_id=view["id"],
                detail={"shortcut": shortcut},
            )
        return view

    async def delete_canned(self, actor: tuple[str, str], canned_id: str) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            view = await canned.canned_by_id(conn, canned_id)
            await canned.delete_canned(conn, canned_id)
            await audit.record(
                conn,
                action="canned.deleted",
                actor_id=actor[0],
                actor_label=actor[1],
                brand_id=view["brand_id"],
                target_kind="canned_response",
                target_id=canned_id,
                detail={"shortcut": view["shortcut"]},
            )
