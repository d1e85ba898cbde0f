"""The widget's frame parsing and translation, pure: no sockets, no database."""

from __future__ import annotations

import pytest

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
