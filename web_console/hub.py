"""The console's live feed: Zulip-style, each client resumes from the last event id it saw.

On hello the client is registered first and then replayed the stored events after its id, so
nothing falls between the replay and the live stream; ids it has already been sent are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Annotated, Any, Literal

import orjson
import structlog
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from web_console.port import Agent, AgentDirectory, ConsoleBackend
from web_console.sessions import session_agent

log = structlog.get_logger(__name__)

CLOSE_UNSUPPORTED = 1003
CLOSE_BAD_PAYLOAD = 1007
CLOSE_TRY_AGAIN = 1013
CLOSE_BAD_FRAME = 4400
CLOSE_UNAUTHORIZED = 4401
REPLAY_PAGE = 500
REPLAY_LIMIT = 2000
SEND_QUEUE_LIMIT = 5000
# How many sent ids a client remembers to skip replay/live overlaps.
SEEN_WINDOW = 10_000


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hello(_Frame):
    type: Literal["hello"]
    last_event_id: int = Field(default=0, ge=0)


class Typing(_Frame):
    type: Literal["typing"]
    conversation_id: str = Field(max_length=64)
    active: bool


class Ping(_Frame):
    type: Literal["ping"]


_frames: TypeAdapter[Hello | Typing | Ping] = TypeAdapter(
    Annotated[Hello | Typing | Ping, Field(discriminator="type")]
)


class _BadFrame(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason[:120]


def _parse(text: str | None) -> Hello | Typing | Ping:
    if text is None:
        raise _BadFrame(CLOSE_UNSUPPORTED, "binary frames are not supported")
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _BadFrame(CLOSE_BAD_PAYLOAD, "frame is not valid JSON") from None
    try:
        return _frames.validate_python(raw)
    except ValidationError:
        raise _BadFrame(CLOSE_BAD_FRAME, "unknown or invalid frame") from None


async def _receive(ws: WebSocket) -> str | None:
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text: str | None = message.get("text")
    return text


class Client:
    """One console socket."""

    def __init__(self, ws: WebSocket, agent: Agent) -> None:
        self.ws = ws
        self.agent = agent
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(SEND_QUEUE_LIMIT)
        self._seen: set[int] = set()
        self._order: deque[int] = deque()
        self.closed = False
        self._closing: asyncio.Task[None] | None = None

    def push(self, frame: dict[str, Any]) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.closed = True
            # Held on the client until done: a task whose only reference is dropped may be
            # collected before it closes the socket.
            self._closing = asyncio.get_running_loop().create_task(
                self.ws.close(CLOSE_TRY_AGAIN, "too slow")
            )

    def first_time(self, event_id: int) -> bool:
        if event_id in self._seen:
            return False
        self._seen.add(event_id)
        self._order.append(event_id)
        if len(self._order) > SEEN_WINDOW:
            self._seen.discard(self._order.popleft())
        return True

    async def write_loop(self) -> None:
        while True:
            frame = await self.queue.get()
            # Stored events (with an id) go out once; live-only ones like typing have none.
            event_id = frame.get("id") if frame["type"] == "event" else None
            if event_id is not None and not self.first_time(event_id):
                continue
            await self.ws.send_text(orjson.dumps(frame).decode())


class ConsoleHub:
    """Console sockets on this node."""

    def __init__(
        self,
        backend: ConsoleBackend,
        agents: AgentDirectory,
        *,
        origins: frozenset[str],
        on_reject: Callable[[int], None] = lambda code: None,
        on_presence: Callable[[str, bool], None] = lambda agent_id, here: None,
    ) -> None:
        self._backend = backend
        self._agents = agents
        self._origins = origins
        self._on_reject = on_reject
        # Told when an agent's console connects (True) and goes (False): presence.
        self._on_presence = on_presence
        self._clients: set[Client] = set()

    @property
    def connection_count(self) -> int:
        return len(self._clients)

    def broadcast(self, event: dict[str, Any]) -> None:
        """A stored event (with id) or a live typing notice, to every console."""
        frame = {"type": "event", **event}
        for client in self._clients:
            client.push(frame)

    def resync(self) -> None:
        """After a gap on the bus, clients re-read their state over REST."""
        for client in self._clients:
            client.push({"type": "resync"})

    async def disconnect_agent(self, agent_id: str) -> None:
        """Close the agent's consoles on this node (their session has ended)."""
        for client in [c for c in self._clients if c.agent.id == agent_id]:
            with contextlib.suppress(Exception):
                await client.ws.close(CLOSE_UNAUTHORIZED, "the session has ended; log in again")

    async def endpoint(self, ws: WebSocket) -> None:
        origin = ws.headers.get("origin")
        if origin is not None and origin.rstrip("/") not in self._origins:
            self._on_reject(403)
            await ws.send_denial_response(PlainTextResponse("origin not allowed", 403))
            return
        await ws.accept()
        session = ws.session if "session" in ws.scope else {}
        agent = await session_agent(session, self._agents)
        if agent is None:
            self._on_reject(CLOSE_UNAUTHORIZED)
            await ws.close(CLOSE_UNAUTHORIZED, "log in first")
            return
        client = Client(ws, agent)
        writer: asyncio.Task[None] | None = None
        try:
            hello = _parse(await _receive(ws))
            if not isinstance(hello, Hello):
                raise _BadFrame(CLOSE_BAD_FRAME, "the first frame must be 'hello'")
            self._clients.add(client)
            self._on_presence(agent.id, True)
            writer = asyncio.create_task(client.write_loop(), name="console-writer")
            await self._replay(client, hello.last_event_id)
            while True:
                frame = _parse(await _receive(ws))
                if isinstance(frame, Typing):
                    await self._backend.typing(frame.conversation_id, frame.active)
                elif isinstance(frame, Ping):
                    client.push({"type": "pong"})
                else:
                    raise _BadFrame(CLOSE_BAD_FRAME, "'hello' may only be sent once")
        except _BadFrame as exc:
            self._on_reject(exc.code)
            if ws.application_state != WebSocketState.DISCONNECTED:
                with contextlib.suppress(Exception):
                    await ws.close(exc.code, exc.reason)
        except WebSocketDisconnect:
            pass
        finally:
            client.closed = True
            if client in self._clients:
                self._on_presence(agent.id, False)
            self._clients.discard(client)
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer

    async def _replay(self, client: Client, last_event_id: int) -> None:
        """The stored events after the client's id; past REPLAY_LIMIT, a `resync` instead:
        re-reading the current state over REST is cheaper than a long history."""
        after, sent = last_event_id, 0
        while True:
            page = await self._backend.events_after(after, REPLAY_PAGE)
            for event in page:
                client.push({"type": "event", **event})
            sent += len(page)
            if len(page) < REPLAY_PAGE:
                break
            if sent >= REPLAY_LIMIT:
                client.push({"type": "resync"})
                break
            after = page[-1]["id"]
        client.push(
            {
                "type": "welcome",
                "agent": {"id": client.agent.id, "name": client.agent.name},
                "replayed_after": last_event_id,
            }
        )
