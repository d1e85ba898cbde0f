"""The widget's frame parsing and translation, pure: no sockets, no database."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.base import InboundMessage, Sender
from channels.webchat import protocol as p


def test_a_message_frame_becomes_a_neutral_inbound_message_scoped_by_visitor() -> None:
    frame = p.parse_client_frame('{"type": "message", "client_id": "c-1", "text": "Hi"}')
    assert isinstance(frame, p.SendMessage)
    assert p.to_inbound(frame, inbox_address="demo-web", visitor_id="v9") == InboundMessage(
        channel="webchat",
        inbox_address="demo-web",
        external_id="v9:c-1",
        sender=Sender(external_id="v9"),
        text="Hi",
    )


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ('{"type": "hello", "token": "t"}', p.Hello),
        ('{"type": "hello", "token": "t", "conversation_id": "c", "last_seq": 4}', p.Hello),
        ('{"type": "typing", "active": false}', p.Typing),
        ('{"type": "ping"}', p.Ping),
    ],
)
def test_valid_frames_parse(raw: str, kind: type) -> None:
    assert isinstance(p.parse_client_frame(raw), kind)


@pytest.mark.parametrize(
    ("raw", "code", "says"),
    [
        ("{", p.CLOSE_BAD_PAYLOAD, "not valid JSON"),
        ("null", p.CLOSE_BAD_FRAME, "object with a string 'type'"),
        ('{"type": 3}', p.CLOSE_BAD_FRAME, "object with a string 'type'"),
        ('{"type": "shout"}', p.CLOSE_BAD_FRAME, "invalid 'shout' frame"),
        ('{"type": "hello", "token": "t", "last_seq": -1}', p.CLOSE_BAD_FRAME, "last_seq"),
        ('{"type": "message", "client_id": "x"}', p.CLOSE_BAD_FRAME, "text"),
        ('{"type": "message", "client_id": "x", "text": " \\n "}', p.CLOSE_BAD_FRAME, "blank"),
        (
            '{"type": "message", "client_id": "' + "x" * 65 + '", "text": "a"}',
            p.CLOSE_BAD_FRAME,
            "client_id",
        ),
        (
            '{"type": "message", "client_id": "x", "text": "' + "a" * 10_001 + '"}',
            p.CLOSE_BAD_FRAME,
            "text",
        ),
        ('{"type": "ping", "extra": 1}', p.CLOSE_BAD_FRAME, "extra"),
    ],
)
def test_bad_frames_name_their_close_code_and_the_field(raw: str, code: int, says: str) -> None:
    with pytest.raises(p.ProtocolError) as refused:
        p.parse_client_frame(raw)
    assert refused.value.code == code
    assert says in refused.value.reason


def test_close_reasons_fit_in_a_close_frame() -> None:
    error = p.ProtocolError(p.CLOSE_BAD_FRAME, "é" * 200)
    assert len(error.reason.encode()) <= 123


def test_the_widget_never_sees_agent_ids() -> None:
    message = {
        "id": 1,
        "conversation_id": "c",
        "seq": 2,
        "author_kind": "agent",
        "author_id": "secret-agent-id",
        "client_id": None,
        "text": "hi",
        "created_at": "2026-01-01T00:00:00+00:00",
        "channel": "console",
    }
    assert "author_id" not in p.message_frame(message)["message"]


# Properties: whatever a client sends, the parser answers with a frame or a ProtocolError
# (never a crash that would end the connection with a 1011), and a valid frame survives being
# encoded and parsed again.

_CLOSE_CODES = {p.CLOSE_BAD_PAYLOAD, p.CLOSE_BAD_FRAME}
_json = st.recursive(
    st.none()
    | st.booleans()
    # orjson reads 64-bit integers; a bigger one is not JSON it accepts (1007).
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
_FIELDS = ("type", "token", "conversation_id", "last_seq", "client_id", "text", "active")
# Objects shaped like frames: a known type and some of the known fields with any values.
_frame_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["hello", "message", "typing", "ping"])},
    optional={name: _json for name in _FIELDS[1:]},
)


def _outcome(text: str) -> p.Hello | p.SendMessage | p.Typing | p.Ping | p.ProtocolError:
    try:
        return p.parse_client_frame(text)
    except p.ProtocolError as refused:
        return refused


def _parses_or_refuses(text: str) -> None:
    outcome = _outcome(text)
    if isinstance(outcome, p.ProtocolError):
        assert outcome.code in _CLOSE_CODES
        assert outcome.reason
        assert len(outcome.reason.encode()) <= 123


@given(st.text())
def test_any_text_parses_or_is_refused_with_a_close_code(text: str) -> None:
    _parses_or_refuses(text)


@given(st.binary())
def test_any_bytes_as_a_text_frame_parse_or_are_refused(data: bytes) -> None:
    # A WebSocket text frame is UTF-8; the server decodes it before the parser sees it.
    _parses_or_refuses(data.decode("utf-8", errors="replace"))


@given(_json | _frame_like)
def test_any_json_parses_or_is_refused_as_a_bad_frame(value: object) -> None:
    outcome = _outcome(json.dumps(value))
    if isinstance(outcome, p.ProtocolError):
        # It is JSON, so never "not valid JSON" (1007).
        assert outcome.code == p.CLOSE_BAD_FRAME
        assert len(outcome.reason.encode()) <= 123


# Text the widget can send: UTF-8 (what a WebSocket text frame carries, so no lone surrogates)
# but NUL (refused before the database sees it), and not blank.
_chars = st.characters(codec="utf-8", exclude_characters="\x00")
_text = st.text(_chars, min_size=1, max_size=200)
_valid_frames = st.one_of(
    st.builds(
        p.Hello,
        type=st.just("hello"),
        token=st.text(
            st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=100
        ),
        conversation_id=st.none()
        | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=64),
        last_seq=st.integers(min_value=0, max_value=2**62),
    ),
    st.builds(
        p.SendMessage,
        type=st.just("message"),
        client_id=st.from_regex(p.CLIENT_ID, fullmatch=True),
        text=_text.filter(str.strip),
    ),
    st.builds(p.Typing, type=st.just("typing"), active=st.booleans()),
    st.builds(p.Ping, type=st.just("ping")),
)


@given(_valid_frames)
def test_valid_frames_round_trip(frame: p.Hello | p.SendMessage | p.Typing | p.Ping) -> None:
    assert p.parse_client_frame(p.encode(frame.model_dump())) == frame
