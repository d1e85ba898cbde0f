"""Outgoing mail keeps the customer's thread."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from channels.email.composer import OutgoingMail, compose, plus_address, reply_subject
from channels.email.relay import RelayConfig


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Where is my parcel?", "Re: Where is my parcel?"),
        ("Re: Where is my parcel?", "Re: Where is my parcel?"),
        ("RE: AW: Re: Fwd: parcel", "Re: parcel"),
        ("Réf : colis", "Re: colis"),
        ("RE : colis", "Re: colis"),
        ("Re[2]: parcel", "Re: parcel"),
        ("", "Re: your message"),
        (None, "Re: your message"),
    ],
)
def test_reply_subject(subject: str | None, expected: str) -> None:
    assert reply_subject(subject) == expected


def _outgoing(**changes: object) -> OutgoingMail:
    values: dict[str, object] = {
        "from_address": "support@demo.switchboard.test",
        "from_name": "Demo Shop",
        "reply_to": plus_address("support@demo.switchboard.test", "tok"),
        "to_address": "ada@example.com",
        "to_name": "Ada Lovelace",
        "subject": "Re: parcel",
        "text": "Bonjour Ada,\n\nYour parcel <b>left</b> today.\nRegards",
        "message_id": "sb-9.tok@demo.switchboard.test",
        "thread": ("c1@example.com", "sb-5.tok@demo.switchboard.test", "c2@example.com"),
        "in_reply_to": "c2@example.com",
        "date": datetime(2026, 11, 24, tzinfo=UTC),
        "automatic": False,
    }
    values.update(changes)
    return OutgoingMail(**values)  # type: ignore[arg-type]


def test_compose_threads_and_has_both_parts() -> None:
    msg = compose(_outgoing())
    assert msg["Reply-To"] == "support+tok@demo.switchboard.test"
    assert msg["Message-ID"] == "<sb-9.tok@demo.switchboard.test>"
    assert msg["In-Reply-To"] == "<c2@example.com>"
    assert msg["References"] == "<c1@example.com> <sb-5.tok@demo.switchboard.test> <c2@example.com>"
    assert msg["X-Loop"] == "switchboard"
    assert msg["Auto-Submitted"] is None
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "Your parcel <b>left</b> today." in text.get_content()
    assert "&lt;b&gt;left&lt;/b&gt;" in html.get_content()  # the agent's text, escaped


def test_automatic_replies_are_marked() -> None:
    msg = compose(_outgoing(automatic=True))
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"


def test_long_threads_keep_the_first_and_newest_references() -> None:
    thread = tuple(f"m{n}@x" for n in range(40))
    refs = compose(_outgoing(thread=thread))["References"].split()
    assert len(refs) == 20
    assert refs[0] == "<m0@x>"
    assert refs[-1] == "<m39@x>"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://relay.example.com", ("relay.example.com", 25, None, False, None)),
        ("smtp://u:p%40ss@relay:587?starttls=required", ("relay", 587, "u", False, True)),
        ("smtps://relay:465", ("relay", 465, None, True, None)),
        ("smtp://127.0.0.1:2526?starttls=never", ("127.0.0.1", 2526, None, False, False)),
    ],
)
def test_relay_urls(url: str, expected: tuple[object, ...]) -> None:
    c = RelayConfig.from_url(url)
    assert (c.host, c.port, c.username, c.implicit_tls, c.starttls) == expected


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://relay", "scheme"),
        ("smtp://", "no host"),
        ("smtp://relay?starttls=maybe", "starttls"),
        ("smtp://relay?colour=blue", "unknown relay URL option"),
    ],
)
def test_bad_relay_urls(url: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        RelayConfig.from_url(url)
