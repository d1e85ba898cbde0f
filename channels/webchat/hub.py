"""Live widget connections: one reader and one ordered writer per socket.

Each connection knows the conversation it shows and the last seq it sent. Every message reaches
it through one queue, so it goes out exactly once and in order: a live event that arrives
ahead of its turn (events of one conversation can be published out of order by two writers)
triggers a catch-up read from Postgres, and a late or repeated one is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from aiolimiter import AsyncLimiter
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from channels.base import Busy
from channels.webchat import protocol as p
from channels.webchat.port import UnknownInbox, UnknownVisitor, Visitor, WebchatBackend
from channels.webchat.token import TokenError, VisitorTokens

log = structlog.get_logger(__name__)

# Frames waiting for a slow reader; past this the reader is dropped and resumes later.
SEND_QUEUE_LIMIT = 1000
HELLO_TIMEOUT_SECONDS = 10.0
# While many sockets wait for their hello (a reconnect storm: every widget of a dropped proxy
# at once), the node's loop and the widgets' own are busy and a hello comes late without any
# fault of its sender; closing it then costs the handshake again and lengthens the storm. So
# the wait grows by this much for each socket waiting (a node greets 500 a second and more
# under bench.chaos.reconnects), up to HELLO_TIMEOUT_MAX_SECONDS, the most a socket that
# never says hello is held. The bound is kept low because the waiting sockets lengthen the
# wait: a client that opens thousands and stays silent holds each this long (at 60 s, six
# times the plain wait), and 10,000 sockets waiting at once already reach it.
HELLO_SECONDS_PER_WAITING = 0.002
HELLO_TIMEOUT_MAX_SECONDS = 30.0
# Visitors (uploads) and client addresses (new sessions) whose limiter is remembered; older
# ones start afresh.
UPLOAD_LIMITERS = 10_000
_CATCH_UP = object()


class Connection:
    """One widget socket after a successful hello."""

    def __init__(self, ws: WebSocket, visitor: Visitor, backend: WebchatBackend) -> None:
        self.ws = ws
        self.visitor = visitor
        self._backend = backend
        self.conversation_id: str | None = None
        self.last_seq = 0
        # The queue and the writer task exist only while there is something to send: most
        # widget sockets are idle, and an empty deque (~760 B) and an idle task per socket
        # are memory for nothing (measured with tracemalloc).
        self._pending: deque[object] | None = None
        self._writer: asyncio.Task[None] | None = None
        self.closed = False

    def push(self, item: object) -> None:
        """Queue a message view, a frame, or a catch-up request; never blocks."""
        if self.closed:
            return
        if self._pending is None:
            self._pending = deque()
        elif len(self._pending) >= SEND_QUEUE_LIMIT:
            # Like websockets' broadcast(): drop the slow reader rather than stall everyone.
            self.closed = True
            self._writer = asyncio.get_running_loop().create_task(
                self._close(p.CLOSE_TRY_AGAIN, "too slow")
            )
            return
        self._pending.append(item)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

    async def stop(self) -> None:
        """The socket is gone: stop writing."""
        self.closed = True
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(code, reason)

    async def _drain(self) -> None:
        try:
            while self._pending:
                item = self._pending.popleft()
                if item is _CATCH_UP:
                    await self._catch_up()
                elif isinstance(item, dict) and item.get("type") == "message-view":
                    await self._deliver(item["message"])
                else:
                    assert isinstance(item, dict)
                    await self.ws.send_text(p.encode(item))
        except (OSError, RuntimeError, WebSocketDisconnect):
            # The peer went away mid-send; the reader sees the disconnect and cleans up.
            self.closed = True
        finally:
            self._writer = None
            self._pending = None

    async def _deliver(self, message: dict[str, Any]) -> None:
        if message["conversation_id"] != self.conversation_id:
            # The visitor's conversation changed (a new one opened): show it from the start.
            self.conversation_id = message["conversation_id"]
            self.last_seq = 0
        seq = message["seq"]
        if seq <= self.last_seq:
            return
        if seq > self.last_seq + 1:
            await self._catch_up()
            return
        await self.ws.send_text(p.encode(p.message_frame(message)))
        self.last_seq = seq

    async def _catch_up(self) -> None:
        if self.conversation_id is None:
            return
        while True:
            page = await self._backend.messages_after(self.conversation_id, self.last_seq)
            for message in page:
                await self.ws.send_text(p.encode(p.message_frame(message)))
                self.last_seq = message["seq"]
            if not page:
                return

    def catch_up(self) -> None:
        self.push(_CATCH_UP)


class WebchatHub:
    """Accepts widget sockets and delivers live events to the right ones on this node."""

    def __init__(
        self,
        backend: WebchatBackend,
        tokens: VisitorTokens,
        *,
        origins: frozenset[str],
        rate_per_second: float,
        rate_burst: int,
        sessions_per_minute: int = p.SESSIONS_PER_MINUTE,
        on_reject: Callable[[int], None] = lambda code: None,
    ) -> None:
        self.sessions_per_minute = sessions_per_minute
        self._backend = backend
        self._tokens = tokens
        self._origins = origins
        self._rate = (rate_per_second, rate_burst)
        self._by_contact: dict[str, set[Connection]] = defaultdict(set)
        self._all: set[Connection] = set()
        self._on_reject = on_reject
        self._uploads: OrderedDict[str, AsyncLimiter] = OrderedDict()
        self._sessions: OrderedDict[str, AsyncLimiter] = OrderedDict()
        self._codes: OrderedDict[str, AsyncLimiter] = OrderedDict()
        # Sockets accepted and not yet greeted or refused (hello_timeout).
        self._awaiting_hello = 0

    async def take_upload(self, visitor_id: str) -> bool:
        """Whether this visitor may send one more file now (p.UPLOADS_PER_MINUTE, on this
        node); counts it when so."""
        return await _take(self._uploads, visitor_id, p.UPLOADS_PER_MINUTE)

    async def take_email_code(self, visitor_id: str, client: str, email: str) -> bool:
        """Whether one more one-time email code may be mailed now (on this node): each is a
        mail to an address someone typed, so per visitor, per client address and, so that
        nobody's mailbox is flooded, per recipient (p.EMAIL_CODES_*); counts it when so."""
        limits = (
            (f"v:{visitor_id}", *p.EMAIL_CODES_PER_VISITOR),
            (f"c:{client}", *p.EMAIL_CODES_PER_CLIENT),
            (f"r:{email.lower()}", *p.EMAIL_CODES_PER_RECIPIENT),
        )
        held = [self._codes.get(key) for key, _count, _minutes in limits]
        if any(limiter is not None and not limiter.has_capacity() for limiter in held):
            return False
        for key, count, minutes in limits:
            await _take(self._codes, key, count, minutes)
        return True

    async def take_session(self, address: str) -> bool:
        """Whether this client address may start one more visitor now
        (``sessions_per_minute``, on this node): each new visitor is a contact row."""
        return await _take(self._sessions, address, self.sessions_per_minute)

    @property
    def connection_count(self) -> int:
        return len(self._all)

    def origin_allowed(self, origin: str | None) -> bool:
        # Browsers always send Origin; non-browser clients (bots, tests) may omit it and are
        # still held to the token.
        return origin is None or origin.rstrip("/") in self._origins

    # --- delivery, called by the server's fan-out for every event on the bus ---

    def deliver_message(self, inbox_id: str, contact_id: str, message: Mapping[str, Any]) -> None:
        for conn in self._by_contact.get(contact_id, ()):
            if conn.visitor.inbox_id == inbox_id:
                conn.push({"type": "message-view", "message": message})

    def deliver_typing(self, contact_id: str, conversation_id: str, active: bool) -> None:
        for conn in self._by_contact.get(contact_id, ()):
            if conn.conversation_id == conversation_id:
                conn.push(
                    {
                        "type": "typing",
                        "conversation_id": conversation_id,
                        "author_kind": "agent",
                        "active": active,
                    }
                )

    def resync(self) -> None:
        """After a gap on the bus, every socket catches up from Postgres."""
        for conn in self._all:
            conn.catch_up()

    # --- the endpoint ---

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The endpoint as a bare ASGI app, for a dispatcher that skips the router."""
        await self.endpoint(WebSocket(scope, receive, send))

    async def endpoint(self, ws: WebSocket) -> None:
        if not self.origin_allowed(ws.headers.get("origin")):
            self._on_reject(403)
            await ws.send_denial_response(PlainTextResponse("origin not allowed", 403))
            return
        await ws.accept()
        try:
            conn = await self._hello(ws)
        except p.ProtocolError as exc:
            await self._reject(ws, exc)
            return
        except WebSocketDisconnect:
            return
        except Exception as exc:
            # The visitor could not be read (the database is restarting or unreachable): not
            # the widget's fault, and soon over. "Try again later", and the widget reconnects.
            log.warning("webchat hello failed; the widget retries", error=type(exc).__name__)
            with contextlib.suppress(Exception):
                await ws.close(p.CLOSE_TRY_AGAIN, "unavailable; try again")
            return
        self._all.add(conn)
        self._by_contact[conn.visitor.contact_id].add(conn)
        try:
            await self._read_loop(conn)
        except p.ProtocolError as exc:
            conn.closed = True
            await self._reject(ws, exc)
        except WebSocketDisconnect:
            pass
        finally:
            self._all.discard(conn)
            peers = self._by_contact[conn.visitor.contact_id]
            peers.discard(conn)
            if not peers:
                del self._by_contact[conn.visitor.contact_id]
            await conn.stop()

    async def _reject(self, ws: WebSocket, exc: p.ProtocolError) -> None:
        self._on_reject(exc.code)
        log.info("webchat frame refused", code=exc.code, reason=exc.reason)
        if ws.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await ws.close(exc.code, exc.reason)

    async def _receive_text(self, ws: WebSocket) -> str:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if message.get("text") is None:
            raise p.ProtocolError(p.CLOSE_UNSUPPORTED, "binary frames are not supported")
        text: str = message["text"]
        return text

    @property
    def awaiting_hello(self) -> int:
        """Sockets accepted on this node whose hello has not been read yet."""
        return self._awaiting_hello

    async def _hello(self, ws: WebSocket) -> Connection:
        wait = hello_timeout(self._awaiting_hello)
        self._awaiting_hello += 1
        try:
            # A timeout scope rather than wait_for: no task of its own for each hello.
            async with asyncio.timeout(wait):
                text = await self._receive_text(ws)
        except TimeoutError:
            raise p.ProtocolError(p.CLOSE_HELLO_TIMEOUT, "no hello frame") from None
        finally:
            self._awaiting_hello -= 1
        frame = p.parse_client_frame(text)
        if not isinstance(frame, p.Hello):
            raise p.ProtocolError(p.CLOSE_BAD_FRAME, "the first frame must be 'hello'")
        try:
            claims = self._tokens.verify(frame.token)
            visitor, current = await self._backend.greet(claims.inbox_address, claims.visitor_id)
        except TokenError as exc:
            raise p.ProtocolError(p.CLOSE_UNAUTHORIZED, str(exc)) from None
        except (UnknownInbox, UnknownVisitor):
            raise p.ProtocolError(p.CLOSE_UNAUTHORIZED, "unknown visitor") from None
        conn = Connection(ws, visitor, self._backend)
        conn.conversation_id = current
        # Resume where the client stopped, if it was looking at the same conversation.
        conn.last_seq = frame.last_seq if frame.conversation_id == current else 0
        await ws.send_text(
            p.encode(
                {
                    "type": "welcome",
                    "visitor_id": visitor.visitor_id,
                    "conversation_id": current,
                    "resume_after": conn.last_seq,
                }
            )
        )
        if frame.history:
            earlier = await self._backend.history(visitor, current)
            await ws.send_text(p.encode(p.history_frame(earlier)))
        if current is not None:
            # Nothing to catch up without a conversation: no read and no writer task (most of
            # a storm's idle widgets have never written).
            conn.catch_up()
        if frame.history:
            # After the catch-up, in the writer's order: what follows is new to the page.
            conn.push({"type": "synced"})
        return conn

    async def _read_loop(self, conn: Connection) -> None:
        per_second, burst = self._rate
        limiter: AsyncLimiter | None = None  # made on the first message: most sockets idle
        while True:
            frame = p.parse_client_frame(await self._receive_text(conn.ws))
            if isinstance(frame, p.SendMessage | p.Typing):
                # Both cost a database round trip, so both count against the limit.
                if limiter is None:
                    limiter = AsyncLimiter(burst, burst / per_second)
                if not limiter.has_capacity():
                    raise p.ProtocolError(p.CLOSE_RATE_LIMITED, "too many frames; slow down")
                await limiter.acquire()
            if isinstance(frame, p.SendMessage):
                await self._send_message(conn, frame)
            elif isinstance(frame, p.Typing):
                if conn.conversation_id is not None:
                    await self._backend.typing(conn.conversation_id, frame.active)
            elif isinstance(frame, p.Ping):
                conn.push({"type": "pong"})
            else:
                raise p.ProtocolError(p.CLOSE_BAD_FRAME, "'hello' may only be sent once")

    async def _send_message(self, conn: Connection, frame: p.SendMessage) -> None:
        inbound = p.to_inbound(
            frame, inbox_address=conn.visitor.inbox_address, visitor_id=conn.visitor.visitor_id
        )
        try:
            message, duplicate = await self._backend.receive(inbound)
        except Busy as busy:
            # Not stored, at capacity: the widget keeps it and offers it again after a while.
            conn.push(
                {
                    "type": "error",
                    "code": "busy",
                    "client_id": frame.client_id,
                    "retry_after": busy.retry_after,
                    "message": "server busy; message not stored; retry later",
                }
            )
            return
        except Exception:
            # Not stored, so not acknowledged: the widget keeps it in its outbox and retries.
            log.exception("webchat message not stored", visitor_id=conn.visitor.visitor_id)
            conn.push(
                {
                    "type": "error",
                    "code": "unavailable",
                    "client_id": frame.client_id,
                    "message": "message not stored; retry",
                }
            )
            return
        conn.push(
            {
                "type": "ack",
                "client_id": frame.client_id,
                "message_id": message["id"],
                "conversation_id": message["conversation_id"],
                "seq": message["seq"],
                "duplicate": duplicate,
            }
        )
        # The live event may come before or after the ack; the writer orders and dedupes.
        conn.push({"type": "message-view", "message": message})


def hello_timeout(awaiting: int) -> float:
    """How long a new socket may take to say hello while ``awaiting`` others have not yet."""
    return min(
        HELLO_TIMEOUT_MAX_SECONDS, HELLO_TIMEOUT_SECONDS + awaiting * HELLO_SECONDS_PER_WAITING
    )


async def _take(
    limiters: OrderedDict[str, AsyncLimiter], key: str, per_minute: int, minutes: int = 1
) -> bool:
    """One more of something for ``key``: at most ``per_minute`` in ``minutes`` minutes;
    counted when there is room."""
    limiter = limiters.pop(key, None) or AsyncLimiter(per_minute, 60 * minutes)
    limiters[key] = limiter  # the most recent last, for the bound below
    while len(limiters) > UPLOAD_LIMITERS:
        limiters.popitem(last=False)
    if not limiter.has_capacity():
        return False
    await limiter.acquire()  # at once: there is room
    return True
