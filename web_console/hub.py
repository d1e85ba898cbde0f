"""The console's live feed: Zulip-style, each client resumes from an event id (the last one the
server vouched for, see below).

On hello the client is registered first and then replayed the stored events it may lack, so
nothing falls between the replay and the live stream; ids it has already been sent are skipped.

Where a client resumes from (issue 21). Ids are handed out before commit, so events commit out
of id order: resuming "after the highest id I saw" can skip one that committed later with a
lower id. The replay therefore sends, besides the ids above the client's, the late ones below
it (server/store/event_log.py says why that set is complete), and the server tells the client
which ids are safe to resume from: ``welcome`` and ``checkpoint`` frames carry a
``last_event_id`` up to which the client holds every committed event. A checkpoint is made on
the client's ping: the ids it may lack since its last one are read from the log, those this
node has not delivered (a publish lost with its node, Redis away) are sent first, then the
checkpoint. A client resumes from its newest checkpoint, never from an id it saw live.

Each console receives only the events of conversations its agent may see
(``web_console.access``), filtered here on the server, never in the browser. The hub keeps
where each conversation sits (its brand, team and assignee), learnt from the conversation
views events carry and, for the rest, asked of the backend in one batch while later events
wait, so every console still receives its events in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import orjson
import structlog
from cachetools import LRUCache
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from web_console import access
from web_console.access import Placement
from web_console.port import Agent, AgentDirectory, ConsoleBackend
from web_console.sessions import session_of

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
# How often an open socket's session is checked again (on the client's pings, every 25 s).
SESSION_CHECK_SECONDS = 60.0
# How often, at most, a client's ping makes a checkpoint (the console pings every 25 s).
CHECKPOINT_SECONDS = 20.0
# Past this many ids since its checkpoint a client gets none (its next resume replays, or
# re-reads over REST past REPLAY_LIMIT).
CHECKPOINT_LIMIT = 5000
# Besides its pings, a client gets a checkpoint once this node has delivered this many stored
# events since its last one (a round every CHECKPOINT_EVENTS // 10 deliveries checkpoints
# those due): a resume replays the log from the client's checkpoint, every event of it read
# from Postgres and filtered here, so under traffic (500 events a second in the chaos run) a
# console dropped 20 s after its ping replayed 10,000 events, past REPLAY_LIMIT, and every
# console of a dropped proxy did so at once (the storm's replays: 11 % of a node's samples).
CHECKPOINT_EVENTS = 1000
# A replay takes the events this node has lately delivered from memory, as they went out
# live (their frame's text), and reads from Postgres only the ids it may lack and those it
# does not hold: the newest RECENT_EVENTS events of conversations, kept while the node has
# consoles and RECENT_SECONDS after its last one went (a dropped proxy takes them all, and
# they come back to replay that very gap). The ids are the log's, read at each replay, so an
# event erased since (its row deleted) is not sent again.
RECENT_EVENTS = 10_000
RECENT_SECONDS = 120.0
# And at most this much of their text in memory, a frame above RECENT_FRAME_BYTES never (a
# replay reads those from the log): a mail's text may be 100,000 characters, so 10,000 frames
# could hold about 1 GB a node (the review measured 959 MiB).
RECENT_BYTES = 32 * 1024 * 1024
RECENT_FRAME_BYTES = 16 * 1024
# How many ids this node remembers having delivered to its consoles (for the checkpoints).
DELIVERED_WINDOW = 50_000
# How many conversations' placements the hub remembers (the rest are asked again).
PLACEMENTS_KEPT = 50_000
# A client that says ``batch`` in its hello gets the frames queued for it together in one
# message, ``{"type": "batch", "frames": [...]}``, in queue order, at most this many frames and
# about this many bytes of them a message (a frame alone goes out as itself).
BATCH_FRAMES = 500
BATCH_BYTES = 256 * 1024
# A conversation's rank in the queue; it follows the conversation.updated that moved it.
QUEUE_CHANGED = "queue.changed"


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hello(_Frame):
    type: Literal["hello"]
    last_event_id: int = Field(default=0, ge=0)
    # The client reads batch frames (Client.write_loop); older clients never get one.
    batch: bool = False


class Typing(_Frame):
    type: Literal["typing"]
    conversation_id: str = Field(max_length=64)
    active: bool


class Ping(_Frame):
    type: Literal["ping"]


class Viewing(_Frame):
    """The conversation this console has open (None: none). Consoles say it again every
    30 s, so their colleagues can let a viewer go whose node died."""

    type: Literal["viewing"]
    conversation_id: str | None = Field(default=None, max_length=64)


Frame = Hello | Typing | Ping | Viewing
_frames: TypeAdapter[Frame] = TypeAdapter(Annotated[Frame, Field(discriminator="type")])


class _BadFrame(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason[:120]


def _parse(text: str | None) -> Frame:
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


class Shared:
    """A frame that many consoles receive as it is, encoded once for all of them (as
    python-websockets' ``broadcast()`` does), and only if one of them sends it."""

    __slots__ = ("_text", "frame")

    def __init__(self, frame: dict[str, Any]) -> None:
        self.frame = frame
        self._text: str | None = None

    @classmethod
    def encoded(cls, event_id: int, text: str) -> Shared:
        """A stored event's frame already encoded (``frame`` holds only its type and id)."""
        shared = cls({"type": "event", "id": event_id})
        shared._text = text
        return shared

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = orjson.dumps(self.frame).decode()
        return self._text


class Client:
    """One console socket."""

    def __init__(self, ws: WebSocket, agent: Agent, session_id: str = "") -> None:
        self.ws = ws
        self.agent = agent
        self.session_id = session_id
        # When the session was last checked on the server (a ping re-checks it each minute).
        self.checked = time.monotonic()
        self.queue: asyncio.Queue[dict[str, Any] | Shared] = asyncio.Queue(SEND_QUEUE_LIMIT)
        self._seen: set[int] = set()
        self._order: deque[int] = deque()
        self.closed = False
        # The conversation the console has open, as it last said ("viewing").
        self.viewing: str | None = None
        self._closing: asyncio.Task[None] | None = None
        # The safe cursor last given to the client (welcome, checkpoint), and when.
        self.cursor = 0
        self.checkpointed = time.monotonic()
        # The hub's delivery count at the client's last checkpoint (or registration), whether
        # its replay is over (its cursor given), and whether a checkpoint is under way.
        self.checkpoint_mark = 0
        self.welcomed = False
        self.checkpointing = False
        # The hub's delivery count when the client was registered, and whether its replay
        # went up to the newest id (not cut at REPLAY_LIMIT): what it holds of the events
        # delivered before it came.
        self.registered_at = 0
        self.replayed_all = False
        # Whether the client reads batch frames (its hello said so).
        self.batch = False

    def push(self, frame: dict[str, Any] | Shared) -> None:
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

    def _text(self, item: dict[str, Any] | Shared) -> str | None:
        """The frame's text, or None for a stored event the client has already been sent."""
        frame = item.frame if isinstance(item, Shared) else item
        # Stored events (with an id) go out once; live-only ones like typing have none.
        event_id = frame.get("id") if frame["type"] == "event" else None
        if event_id is not None and not self.first_time(event_id):
            return None
        return item.text if isinstance(item, Shared) else orjson.dumps(frame).decode()

    async def write_loop(self) -> None:
        """The queued frames to the socket, in order. A socket write costs the node far more
        than a frame's bytes (the ASGI send, the WebSocket frame, a system call and, on
        loopback, the receiver's side of it): a console that reads batch frames gets what
        has queued up for it (a replay, the events that came while the loop was busy) in one
        message, so the writes follow the node's load, not the events'."""
        while True:
            text = self._text(await self.queue.get())
            if not self.batch or self.queue.empty():
                if text is not None:
                    await self.ws.send_text(text)
                continue
            texts = [] if text is None else [text]
            size = len(text or "")
            while len(texts) < BATCH_FRAMES and size < BATCH_BYTES and not self.queue.empty():
                more = self._text(self.queue.get_nowait())
                if more is not None:
                    texts.append(more)
                    size += len(more)
            if len(texts) == 1:
                await self.ws.send_text(texts[0])
            elif texts:
                await self.ws.send_text(batch_text(texts))


def batch_text(texts: list[str]) -> str:
    """One batch frame of these frames' texts (JSON objects), in their order."""
    return '{"type":"batch","frames":[' + ",".join(texts) + "]}"


# A round of checkpoints' reads, kept for its clients: the ids after a cursor (by cursor), and
# the stored events fetched (by id).
_Reads = tuple[dict[int, list[int]], dict[int, dict[str, Any]]]


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
        self._placements: LRUCache[str, Placement] = LRUCache(PLACEMENTS_KEPT)
        # Where a conversation sat before its latest update moved it: its queue.changed
        # (which carries no view) also reaches the consoles whose queue it just left.
        self._moved_from: LRUCache[str, Placement] = LRUCache(PLACEMENTS_KEPT)
        # Events waiting for their conversation's placement, in arrival order.
        self._waiting: deque[dict[str, Any]] = deque()
        self._resolver: asyncio.Task[None] | None = None
        # Stored events this node has delivered to its consoles (the newest), each with its
        # delivery's number: what a checkpoint need not read from the log.
        self._delivered: dict[int, int] = {}
        self._delivered_order: deque[int] = deque()
        self._deliveries = 0
        # The round of checkpoints under way (CHECKPOINT_EVENTS), if any.
        self._round: asyncio.Task[None] | None = None
        # The conversations' events lately delivered (RECENT_EVENTS), by id: the
        # conversation's id and the frame's text; and when the last console went.
        self._recent: dict[int, tuple[str, str]] = {}
        self._recent_order: deque[int] = deque()
        self._recent_bytes = 0
        self._last_left = -math.inf

    @property
    def connection_count(self) -> int:
        return len(self._clients)

    def broadcast(self, event: dict[str, Any]) -> None:
        """A stored event (with id) or a live typing notice, to the consoles whose agent may
        see its conversation."""
        if not self._clients:
            # A console that connects later replays it (it committed before the replay).
            self._learn(event)
            self._note_delivered(event.get("id"))
            if time.monotonic() - self._last_left < RECENT_SECONDS:
                self._remember(event, None)
            elif self._recent:
                self._forget_recent()  # no console for a while: nobody will replay them
            return
        if not self._waiting and (self._known(event) or not event.get("conversation_id")):
            self._deliver(event)
            return
        self._waiting.append(event)
        if self._resolver is None or self._resolver.done():
            self._resolver = asyncio.get_running_loop().create_task(
                self._resolve_waiting(), name="console-placements"
            )

    def _known(self, event: dict[str, Any]) -> bool:
        view = event.get("data", {}).get("conversation")
        return view is not None or event["conversation_id"] in self._placements

    def _learn(self, event: dict[str, Any]) -> tuple[Placement | None, Placement | None]:
        """(where the event's conversation sat before it, where it sits now), remembering
        the new place when the event carries the conversation."""
        conversation_id = event.get("conversation_id") or ""
        before = self._placements.get(conversation_id)
        view = event.get("data", {}).get("conversation")
        if view is None or "brand_id" not in view:
            if event.get("name") == QUEUE_CHANGED:
                return self._moved_from.get(conversation_id, before), before
            return before, before
        now = access.placement_of(view)
        self._placements[conversation_id] = now
        if before is not None and before != now:
            self._moved_from[conversation_id] = before
        else:
            self._moved_from.pop(conversation_id, None)
        return before, now

    def _note_delivered(self, event_id: int | None) -> None:
        if event_id is None or event_id in self._delivered:
            return
        self._deliveries += 1
        self._delivered[event_id] = self._deliveries
        self._delivered_order.append(event_id)
        if len(self._delivered_order) > DELIVERED_WINDOW:
            self._delivered.pop(self._delivered_order.popleft(), None)
        if (
            self._clients
            and self._deliveries % max(1, CHECKPOINT_EVENTS // 10) == 0
            and (self._round is None or self._round.done())
        ):
            self._round = asyncio.get_running_loop().create_task(
                self._checkpoint_round(), name="console-checkpoints"
            )

    async def _checkpoint_round(self) -> None:
        """A checkpoint for each welcomed client this node has delivered CHECKPOINT_EVENTS
        stored events to (or past) since its last one, all up to the same newest id: the
        clients checkpointed together then share their cursor, and their reads."""
        due = [
            c
            for c in self._clients
            if c.welcomed and self._deliveries - c.checkpoint_mark >= CHECKPOINT_EVENTS
        ]
        if not due:
            return
        try:
            through = await self._backend.last_event_id()
            reads: _Reads = ({}, {})
            for client in due:
                if not client.closed:
                    await self.checkpoint(client, through, reads)
        except Exception as exc:  # the database is away: the next round, or a ping
            log.warning("console checkpoints failed", error=str(exc))

    def _holds(self, client: Client, event_id: int) -> bool:
        """Whether the client has had this stored event from this node: delivered while it
        was registered, or before, when its whole replay came (the event had committed)."""
        delivery = self._delivered.get(event_id)
        if delivery is None:
            return False
        return client.replayed_all or delivery > client.registered_at

    def _remember(self, event: dict[str, Any], shared: Shared | None) -> None:
        """A conversation's stored event, as its frame's text, for the replays (RECENT_EVENTS)."""
        event_id, conversation_id = event.get("id"), event.get("conversation_id")
        if event_id is None or not conversation_id or event_id in self._recent:
            return
        text = shared.text if shared is not None else Shared({"type": "event", **event}).text
        size = sys.getsizeof(text)
        if size > RECENT_FRAME_BYTES:
            return
        self._recent[event_id] = (conversation_id, text)
        self._recent_order.append(event_id)
        self._recent_bytes += size
        while self._recent_order and (
            len(self._recent_order) > RECENT_EVENTS or self._recent_bytes > RECENT_BYTES
        ):
            dropped = self._recent.pop(self._recent_order.popleft(), None)
            if dropped is not None:
                self._recent_bytes -= sys.getsizeof(dropped[1])

    def _forget_recent(self) -> None:
        self._recent.clear()
        self._recent_order.clear()
        self._recent_bytes = 0

    def _deliver(self, event: dict[str, Any]) -> None:
        before, now = self._learn(event)
        self._note_delivered(event.get("id"))
        frame = {"type": "event", **event}
        shared = Shared(frame)
        self._remember(event, shared)
        agent_view = (
            event.get("data", {}).get("agent") if not event.get("conversation_id") else None
        )
        # A queue.changed reaching a console only because the conversation sat within its
        # reach before the move says, for that console, that it left the queue.
        left = None
        if event.get("name") == QUEUE_CHANGED and before != now:
            left = {**frame, "data": {"queue": None}}
        for client in self._clients:
            if not _may_receive(client.agent, event, before, now, agent_view):
                continue
            if left is not None and not (now and access.may_see(client.agent, now)):
                client.push(left)
            elif agent_view is not None:
                client.push(_colleague_frame(frame, agent_view, client.agent))
            else:
                client.push(shared)

    async def _resolve_waiting(self) -> None:
        try:
            while self._waiting:
                batch = list(self._waiting)
                unknown = sorted(
                    {
                        e["conversation_id"]
                        for e in batch
                        if e.get("conversation_id") and not self._known(e)
                    }
                )
                if unknown:
                    self._placements.update(await self._backend.placements(unknown))
                for _ in batch:
                    self._deliver(self._waiting.popleft())
        except Exception:
            # A console that misses events re-reads its state: better than sending events
            # to consoles that may not see them.
            log.exception("console event placements failed; consoles resync")
            self._waiting.clear()
            self.resync()

    def resync(self) -> None:
        """After a gap on the bus, clients re-read their state over REST."""
        for client in self._clients:
            client.push({"type": "resync"})

    async def disconnect_agent(self, agent_id: str) -> None:
        """Close the agent's consoles on this node (their session has ended)."""
        for client in [c for c in self._clients if c.agent.id == agent_id]:
            with contextlib.suppress(Exception):
                await client.ws.close(CLOSE_UNAUTHORIZED, "the session has ended; log in again")

    async def disconnect_session(self, session_id: str) -> None:
        """Close the consoles of one session on this node (it was ended)."""
        for client in [c for c in self._clients if c.session_id == session_id]:
            with contextlib.suppress(Exception):
                await client.ws.close(CLOSE_UNAUTHORIZED, "the session has ended; log in again")

    async def _still_signed_in(self, ws: WebSocket, client: Client) -> bool:
        """Re-check the socket's session once a minute (on a ping), so one ended elsewhere
        (another node, the idle or absolute timeout) closes it too."""
        if time.monotonic() - client.checked < SESSION_CHECK_SECONDS:
            return True
        client.checked = time.monotonic()
        session = ws.session if "session" in ws.scope else {}
        return await session_of(session, self._agents) is not None

    async def endpoint(self, ws: WebSocket) -> None:
        origin = ws.headers.get("origin")
        if origin is not None and origin.rstrip("/") not in self._origins:
            self._on_reject(403)
            await ws.send_denial_response(PlainTextResponse("origin not allowed", 403))
            return
        await ws.accept()
        session = ws.session if "session" in ws.scope else {}
        live = await session_of(session, self._agents)
        if live is None:
            self._on_reject(CLOSE_UNAUTHORIZED)
            await ws.close(CLOSE_UNAUTHORIZED, "log in first")
            return
        agent = live.agent
        client = Client(ws, agent, live.id)
        writer: asyncio.Task[None] | None = None
        try:
            hello = _parse(await _receive(ws))
            if not isinstance(hello, Hello):
                raise _BadFrame(CLOSE_BAD_FRAME, "the first frame must be 'hello'")
            client.batch = hello.batch
            self._clients.add(client)
            client.registered_at = client.checkpoint_mark = self._deliveries
            self._on_presence(agent.id, True)
            writer = asyncio.create_task(client.write_loop(), name="console-writer")
            await self._replay(client, hello.last_event_id)
            while True:
                frame = _parse(await _receive(ws))
                if isinstance(frame, Typing):
                    await self._backend.typing(agent, frame.conversation_id, frame.active)
                elif isinstance(frame, Viewing):
                    await self._view(client, frame.conversation_id)
                elif isinstance(frame, Ping):
                    if not await self._still_signed_in(ws, client):
                        raise _BadFrame(CLOSE_UNAUTHORIZED, "the session has ended; log in again")
                    if time.monotonic() - client.checkpointed >= CHECKPOINT_SECONDS:
                        try:
                            await self.checkpoint(client)
                        except Exception as exc:  # the database is away: a later ping
                            log.warning("console checkpoint failed", error=str(exc))
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
            if client.viewing is not None:
                # A closed tab stops viewing at once (a dead node's stop after 30 s).
                with contextlib.suppress(Exception):
                    await self._backend.viewing(agent, client.viewing, False)
            if client in self._clients:
                self._on_presence(agent.id, False)
            self._clients.discard(client)
            self._last_left = time.monotonic()
            if writer is not None:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer

    async def _view(self, client: Client, conversation_id: str | None) -> None:
        """The console now has this conversation open (or none): the colleagues are told it
        left the one before and looks at this one (again: the 30-second refresh)."""
        before, client.viewing = client.viewing, conversation_id
        if before is not None and before != conversation_id:
            await self._backend.viewing(client.agent, before, False)
        if conversation_id is not None:
            await self._backend.viewing(client.agent, conversation_id, True)

    async def _replay(self, client: Client, last_event_id: int) -> None:
        """What the client may lack since its cursor (the ids above it and the late ones
        below), up to the newest id when the replay starts: the events after that reach it
        live, as it was registered before. Past REPLAY_LIMIT, a `resync` instead: re-reading
        the current state over REST is cheaper than a long history."""
        # Read first: every event committed by now has an id up to it, and once all of those
        # are sent it is a safe cursor (server/store/event_log.py).
        through = await self._backend.last_event_id()
        # The ids only (an index's read), one past the limit: whether there is more.
        ids = await self._backend.event_ids_since(last_event_id, through, REPLAY_LIMIT + 1)
        cursor, whole = through, True
        if len(ids) > REPLAY_LIMIT:
            # Where the replay stops, a safe cursor too: a client that keeps its own log
            # (the chaos harness) resumes from there; the console re-reads over REST.
            ids = ids[:REPLAY_LIMIT]
            cursor, whole = ids[-1], False
        for start in range(0, len(ids), REPLAY_PAGE):
            await self._push_ids(client, ids[start : start + REPLAY_PAGE])
        if not whole:
            client.push({"type": "resync", "replayed_through": cursor})
        client.cursor, client.replayed_all = cursor, whole
        client.checkpointed = time.monotonic()
        client.welcomed = True
        client.push(
            {
                "type": "welcome",
                "agent": {"id": client.agent.id, "name": client.agent.name},
                "replayed_after": last_event_id,
                # Where to resume from next time (the newest checkpoint replaces it).
                "last_event_id": cursor,
            }
        )

    async def checkpoint(
        self, client: Client, through: int | None = None, reads: _Reads | None = None
    ) -> None:
        """Tell the client a newer safe cursor: the ids it may lack since its last one are
        read from the log; those this node has not delivered (their publish was lost, Redis
        was away) are sent now, then the checkpoint, behind them in the client's queue.

        ``through`` is the newest id when read before (a round's, for all its clients);
        ``reads`` keeps a round's reads for its other clients: the ids after a cursor, and
        the events fetched. One checkpoint of a client at a time (a round's and a ping's)."""
        if client.checkpointing:
            return
        client.checkpointing = True
        try:
            await self._checkpoint(client, through, reads or ({}, {}), reads is not None)
        finally:
            client.checkpointing = False

    async def _checkpoint(
        self, client: Client, through: int | None, reads: _Reads, in_round: bool
    ) -> None:
        client.checkpointed = time.monotonic()
        client.checkpoint_mark = self._deliveries
        if through is None:
            through = await self._backend.last_event_id()
        cursor = client.cursor
        ids_after, events = reads
        if cursor not in ids_after:
            ids_after[cursor] = await self._backend.event_ids_since(
                cursor, through, CHECKPOINT_LIMIT
            )
        ids = ids_after[cursor]
        if len(ids) >= CHECKPOINT_LIMIT:
            return
        missing = [i for i in ids if not self._holds(client, i)]
        unread = [i for i in missing if i not in events]
        if unread:
            events.update((e["id"], e) for e in await self._backend.events_by_id(unread))
        found = [events[i] for i in missing if i in events]
        if found:
            # A round comes every couple of seconds under traffic, when the events committed
            # just before its read are mostly still on their way over the bus, not lost.
            (log.debug if in_round else log.info)(
                "console checkpoint sends events not heard live", count=len(found)
            )
            await self._push_stored(client, found)
        client.cursor = max(client.cursor, through)
        client.push({"type": "checkpoint", "last_event_id": client.cursor})

    async def _push_ids(self, client: Client, ids: list[int]) -> None:
        """These stored events (ids in order, as read from the log), to the client as far as
        it may see them: those this node delivered lately as they went out, the others read
        from the log now (gone since: not sent)."""
        known = {i: self._recent[i] for i in ids if i in self._recent}
        unknown = [i for i in ids if i not in known]
        read = {e["id"]: e for e in await self._backend.events_by_id(unknown)} if unknown else {}
        conversations = {c for c, _ in known.values()}
        conversations.update(
            e["conversation_id"] for e in read.values() if e.get("conversation_id")
        )
        # Where the conversations sit now: a console resuming sees what it may see now.
        places = await self._backend.placements(sorted(conversations)) if conversations else {}
        for i in ids:
            if i in known:
                conversation_id, text = known[i]
                where = places.get(conversation_id)
                if _may_receive(
                    client.agent, {"conversation_id": conversation_id}, where, where, None
                ):
                    client.push(Shared.encoded(i, text))
            elif i in read:
                self._push_event(client, read[i], places)

    async def _push_stored(self, client: Client, page: list[dict[str, Any]]) -> None:
        """Stored events read from the log, to the client as far as it may see them."""
        ids = sorted({e["conversation_id"] for e in page if e.get("conversation_id")})
        # Where the conversations sit now: a console resuming sees what it may see now.
        places = await self._backend.placements(ids) if ids else {}
        for event in page:
            self._push_event(client, event, places)

    @staticmethod
    def _push_event(client: Client, event: dict[str, Any], places: Mapping[str, Placement]) -> None:
        where = places.get(event.get("conversation_id") or "")
        view = None if event.get("conversation_id") else event["data"].get("agent")
        if not _may_receive(client.agent, event, where, where, view):
            return
        frame = {"type": "event", **event}
        if view is not None:
            frame = _colleague_frame(frame, view, client.agent)
        client.push(frame)


def _colleague_frame(frame: dict[str, Any], view: dict[str, Any], agent: Agent) -> dict[str, Any]:
    """An agent.updated frame as one console may see it: the colleague's roles, teams and
    load in the brands that console's agent works in, not in the colleague's other brands;
    the agent themselves and admins see all of it. The per-brand shares never leave."""
    shown = {k: v for k, v in view.items() if k != "brands"}
    shares: dict[str, Any] = view.get("brands") or {}
    if not agent.admin and view.get("id") != agent.id:
        mine = set(agent.roles)
        shown["roles"] = {b: r for b, r in (view.get("roles") or {}).items() if b in mine}
        kept = [shares[b] for b in sorted(shares) if b in mine]
        shown["teams"] = [t for share in kept for t in share["teams"]]
        shown["team_ids"] = [t for share in kept for t in share["team_ids"]]
        shown["load"] = sum(int(share["load"]) for share in kept)
    return {**frame, "data": {**frame["data"], "agent": shown}}


def _may_receive(
    agent: Agent,
    event: dict[str, Any],
    before: Placement | None,
    now: Placement | None,
    agent_view: dict[str, Any] | None,
) -> bool:
    """Whether the agent's console receives the event: one of a conversation they may see
    now or could see before it (so a transfer out of their reach still reaches them, and
    their list drops it); an agent's change when they share a brand with that agent."""
    if agent.admin:
        return True
    if not event.get("conversation_id"):
        if agent_view is None:
            return False
        if agent_view.get("id") == agent.id:
            return True
        return bool(set(agent_view.get("roles", {})) & set(agent.roles)) or (
            agent_view.get("role") == "admin"
            and bool(access.brands_where(agent, access.REPORTS | access.ACTING))
        )
    return any(where is not None and access.may_see(agent, where) for where in (before, now))
