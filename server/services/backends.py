"""The server's ConsoleBackend: the console's port over the store, the pipeline and the router."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from channels.base import Attachment, safe_filename
from server import store
from server.dispatch.router import Router
from server.errors import Conflict, InvalidInput, NotFound
from server.payloads import ConversationView, MessageView
from server.pipeline.flow import Pipeline
from server.store import Pool, mail
from web_console.port import ActionRefused, Agent, BadValue, Unknown, UploadedFile

PAGE = 500


@contextlib.asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    """The server's errors as the console port names them."""
    try:
        yield
    except NotFound as exc:
        raise Unknown(str(exc)) from None
    except Conflict as exc:
        raise ActionRefused(str(exc)) from None
    except InvalidInput as exc:
        raise BadValue(str(exc)) from None


class ConsoleBackendImpl:
    """ConsoleBackend over the store, the pipeline and the router."""

    def __init__(self, pool: Pool, pipeline: Pipeline, router: Router) -> None:
        self._pool = pool
        self._pipeline = pipeline
        self._router = router

    async def conversations(self, statuses: list[str]) -> list[ConversationView]:
        async with self._pool.acquire() as conn:
            return await store.conversations(conn, statuses)

    async def conversation(self, conversation_id: str) -> ConversationView:
        async with self._pool.acquire() as conn, _translated():
            return await store.conversation(conn, conversation_id)

    async def messages_after(self, conversation_id: str, after_seq: int) -> list[MessageView]:
        async with self._pool.acquire() as conn, _translated():
            return await store.messages_after(conn, conversation_id, after_seq, PAGE)

    async def merge_contact(
        self, agent: Agent, conversation_id: str, other: str
    ) -> ConversationView:
        async with _translated():
            return await self._pipeline.merge_contacts(conversation_id, other)

    async def attachment(self, message_id: int, position: int) -> tuple[str, str, bytes]:
        async with self._pool.acquire() as conn:
            found = await store.attachment(conn, message_id, position)
        if found is None:
            raise Unknown(f"no attachment {position} on message {message_id}")
        return found

    async def original(self, message_id: int) -> bytes:
        async with self._pool.acquire() as conn:
            raw = await mail.raw_of_message(conn, message_id)
        if raw is None:
            raise Unknown(f"message {message_id} did not come by mail")
        return raw

    async def reply(
        self,
        agent: Agent,
        conversation_id: str,
        text: str,
        client_id: str,
        files: Sequence[UploadedFile] = (),
    ) -> tuple[MessageView, bool]:
        attachments = tuple(
            Attachment(safe_filename(f.filename, f.content_type, n + 1), f.content_type, f.content)
            for n, f in enumerate(files)
        )
        async with _translated():
            stored = await self._pipeline.reply(
                agent.id, conversation_id, text, client_id, attachments
            )
        return stored.message, stored.duplicate

    async def return_to_bot(self, agent: Agent, conversation_id: str) -> ConversationView:
        async with _translated():
            await self._pipeline.return_to_bot(agent.id, conversation_id)
        return await self.conversation(conversation_id)

    async def queue(self) -> list[dict[str, Any]]:
        return await self._router.queue_view()

    async def claim(self, agent: Agent, conversation_id: str) -> ConversationView:
        async with _translated():
            await self._router.claim(agent.id, conversation_id)
        return await self.conversation(conversation_id)

    async def transfer(
        self, agent: Agent, conversation_id: str, to_agent: str | None, to_team: str | None
    ) -> ConversationView:
        async with _translated():
            await self._router.transfer(
                agent.id, conversation_id, to_agent=to_agent, to_team=to_team
            )
        return await self.conversation(conversation_id)

    async def resolve(self, agent: Agent, conversation_id: str) -> ConversationView:
        async with _translated():
            await self._router.resolve(agent.id, conversation_id)
        return await self.conversation(conversation_id)

    async def set_status(self, agent: Agent, status: str) -> Mapping[str, Any]:
        async with _translated():
            return await self._router.set_status(agent.id, status)

    async def agent_view(self, agent: Agent) -> Mapping[str, Any]:
        async with _translated():
            return await self._router.agent_view(agent.id)

    async def overview(self) -> dict[str, Any]:
        return await self._router.overview()

    async def directory(self) -> dict[str, Any]:
        overview = await self._router.overview()
        return {
            "teams": [{"id": t["id"], "name": t["name"]} for t in overview["teams"]],
            "agents": [
                {k: a[k] for k in ("id", "name", "status", "load", "capacity")}
                for a in overview["agents"]
            ],
        }

    async def events_after(self, last_event_id: int, limit: int) -> list[dict[str, Any]]:
        async with self._pool.acquire() as conn:
            found = await store.events_after(conn, last_event_id, limit)
        return [
            {"id": e.id, "name": e.name, "conversation_id": e.conversation_id, "data": e.data}
            for e in found
        ]

    async def last_event_id(self) -> int:
        async with self._pool.acquire() as conn:
            return await store.last_event_id(conn)

    async def typing(self, conversation_id: str, active: bool) -> None:
        await self._pipeline.typing(conversation_id, "agent", active)
