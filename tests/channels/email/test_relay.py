"""Sending through the relay over STARTTLS against a real aiosmtpd that requires it: the TLS
context, made once, serves every mail; certificates are checked unless the URL says
``verify=false``; ``starttls=never`` sends in clear."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.base import DeliveryError
from channels.email.relay import Relay, RelayConfig
from tests.mail import mail


class _Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[bool, bytes]] = []  # (over TLS, the mail)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append((session.ssl is not None, envelope.original_content or b""))
        return "250 OK"


def _self_signed(tmp: Path) -> ssl.SSLContext:
    cert, key = tmp / "relay.crt", tmp / "relay.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@contextlib.asynccontextmanager
async def _relay_server(tmp: Path, *, tls: bool) -> AsyncIterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    context = _self_signed(tmp) if tls else None
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(inbox, hostname="relay.test", tls_context=context, require_starttls=tls),
        "127.0.0.1",
        0,
    )
    try:
        yield inbox, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_every_mail_goes_over_starttls_when_required(tmp_path: Path) -> None:
    async with _relay_server(tmp_path, tls=True) as (inbox, port):
        relay = Relay(
            RelayConfig.from_url(f"smtp://127.0.0.1:{port}?starttls=required&verify=false")
        )
        for n in range(3):
            answer = await relay.send(mail(message_id=f"out-{n}@x"), "desk@x.test", "ada@x.test")
            assert answer.startswith("OK")
    assert [tls for tls, _ in inbox.received] == [True, True, True]
    assert [b"out-0@x" in raw for _, raw in inbox.received] == [True, False, False]


async def test_an_unverified_certificate_is_refused_as_worth_a_retry(tmp_path: Path) -> None:
    async with _relay_server(tmp_path, tls=True) as (inbox, port):
        relay = Relay(RelayConfig.from_url(f"smtp://127.0.0.1:{port}?starttls=required"))
        with pytest.raises(DeliveryError) as refused:
            await relay.send(mail(message_id="out@x"), "desk@x.test", "ada@x.test")
    assert not refused.value.permanent
    assert inbox.received == []


async def test_starttls_never_sends_in_clear(tmp_path: Path) -> None:
    async with _relay_server(tmp_path, tls=False) as (inbox, port):
        relay = Relay(RelayConfig.from_url(f"smtp://127.0.0.1:{port}?starttls=never"))
        await relay.send(mail(message_id="clear@x"), "desk@x.test", "ada@x.test")
    assert [tls for tls, _ in inbox.received] == [False]
