"""The widget's frames and close codes, parsed and built without any I/O.

Client frames are validated here; anything that fails raises ``ProtocolError`` carrying the
close code the connection ends with, so every bad input gets a precise answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from channels.base import (
    FILE_ONLY_TEXT,
    NUL_REFUSED,
    Attachment,
    ChannelName,
    InboundMessage,
    Sender,
    holds_nul,
)

CHANNEL: ChannelName = "webchat"
WEBSOCKET_PATH = "/ws/webchat"

# Close codes. 1xxx are RFC 6455's; 4xxx are ours, modelled on HTTP statuses.
CLOSE_SERVICE_RESTART = 1012  # the server is shutting down (sent by uvicorn): reconnect
CLOSE_UNSUPPORTED = 1003  # a binary frame
CLOSE_BAD_PAYLOAD = 1007  # a text frame that is not JSON
CLOSE_TOO_BIG = 1009  # a frame over the size limit (enforced by the WebSocket server)
CLOSE_TRY_AGAIN = 1013  # the client read too slowly; reconnect and resume
CLOSE_BAD_FRAME = 4400  # JSON that is not a valid frame (unknown type, bad field)
CLOSE_UNAUTHORIZED = 4401  # missing, tampered, expired or unknown visitor token
CLOSE_HELLO_TIMEOUT = 4408  # no hello frame in time
CLOSE_RATE_LIMITED = 4429  # too many messages; reconnect later and resend unacked ones

MAX_TEXT_CHARS = 10_000
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ProtocolError(Exception):
    """A client frame the server refuses; the connection closes with ``code``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        # RFC 6455 caps a close reason at 123 bytes.
        self.reason = reason.encode()[:123].decode(errors="ignore")


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if holds_nul(data):
            raise ValueError(NUL_REFUSED)
        return data


class Hello(_Frame):
    type: Literal["hello"]
    token: str = Field(min_length=1, max_length=2048)
    conversation_id: str | None = Field(default=None, max_length=64)
    last_seq: int = Field(default=0, ge=0)
    # A page that has shown nothing yet asks for the visitor's earlier conversations too
    # (a "history" frame), so a resolve never wipes what they saw.
    history: bool = False


class SendMessage(_Frame):
    type: Literal["message"]
    client_id: str = Field(pattern=CLIENT_ID.pattern)
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)


class Typing(_Frame):
    type: Literal["typing"]
    active: bool


class Ping(_Frame):
    type: Literal["ping"]


ClientFrame = Annotated[Hello | SendMessage | Typing | Ping, Field(discriminator="type")]
_client_frame: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)


def parse_client_frame(text: str) -> Hello | SendMessage | Typing | Ping:
    """Parse one text frame, or raise ProtocolError with the close code it deserves."""
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError(CLOSE_BAD_PAYLOAD, "frame is not valid JSON") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise ProtocolError(CLOSE_BAD_FRAME, "frame must be an object with a string 'type'")
    try:
        frame: Hello | SendMessage | Typing | Ping = _client_frame.validate_python(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "type"
        raise ProtocolError(
            CLOSE_BAD_FRAME, f"invalid {raw['type']!r} frame: {where}: {first['msg']}"
        ) from None
    if isinstance(frame, SendMessage) and not frame.text.strip():
        raise ProtocolError(CLOSE_BAD_FRAME, "invalid 'message' frame: text: is blank")
    return frame


def to_inbound(frame: SendMessage, *, inbox_address: str, visitor_id: str) -> InboundMessage:
    """A widget message as a channel-neutral inbound message.

    The client id is scoped by visitor, so one visitor's ids can never collide with another's.
    """
    return InboundMessage(
        channel=CHANNEL,
        inbox_address=inbox_address,
        external_id=f"{visitor_id}:{frame.client_id}",
        sender=Sender(external_id=visitor_id),
        text=frame.text,
    )


# What a customer may send from the widget in one file message (as the console takes), and
# how many files a minute (each is a stored message and up to 10 MiB of database).
MAX_FILE_BYTES = 10 * 1024 * 1024
UPLOADS_PER_MINUTE = 10
# New visitors a minute from one client address (an office behind one NAT stays well under).
SESSIONS_PER_MINUTE = 30
# One-time email codes (count, in minutes): each is a mail to an address someone typed.
EMAIL_CODES_PER_VISITOR = (3, 10)
EMAIL_CODES_PER_CLIENT = (20, 60)
EMAIL_CODES_PER_RECIPIENT = (5, 60)


def file_inbound(
    file: Attachment, *, client_id: str, inbox_address: str, visitor_id: str
) -> InboundMessage:
    """A file sent from the widget, as a message of its own; its client id is scoped as a
    text message's is, so a retried upload is stored once."""
    return InboundMessage(
        channel=CHANNEL,
        inbox_address=inbox_address,
        external_id=f"{visitor_id}:{client_id}",
        sender=Sender(external_id=visitor_id),
        text=FILE_ONLY_TEXT,
        attachments=(file,),
    )


def encode(frame: dict[str, Any]) -> str:
    return orjson.dumps(frame).decode()


def message_frame(message: Mapping[str, Any]) -> dict[str, Any]:
    """A stored message as the widget sees it (agents' ids stay on the server); files as
    their names and sizes, each downloaded from ATTACHMENT_PATH with the visitor's token."""
    shown = {
        k: message[k]
        for k in ("id", "conversation_id", "seq", "author_kind", "client_id", "text", "created_at")
    }
    # Who wrote, as the customer may know them (an agent's name), the survey's step, and
    # the bot's articles as cards.
    for key in ("author_name", "csat", "kb"):
        if message.get(key) is not None:
            shown[key] = message[key]
    if message.get("attachments"):
        shown["attachments"] = [
            {k: a[k] for k in ("n", "filename", "content_type", "size")}
            for a in message["attachments"]
        ]
    return {"type": "message", "message": shown}


def history_frame(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The visitor's earlier conversations' messages, oldest first, as message frames carry
    them (each with its own conversation_id)."""
    return {"type": "history", "messages": [message_frame(m)["message"] for m in messages]}
