"""The per-address session cap answers 421 on every event loop the server runs on (uvloop in
production, asyncio in most tests); a server at capacity answers 451."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop

from channels.base import Busy
from channels.email.smtp import SmtpConfig, SmtpServer


class _Backend:
    async def accepts(self, recipient: str) -> bool:
        return True

    async def store_raw(self, peer: str, mail_from: str, rcpt_tos: list[str], raw: bytes) -> int:
        return 1


async def _greetings(sessions: int, cap: int) -> list[bytes]:
    server = SmtpServer(_Backend(), SmtpConfig(port=0, max_connections_per_ip=cap))
    await server.start()
    writers: list[asyncio.StreamWriter] = []
    greetings = []
    try:
        for _ in range(sessions):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writers.append(writer)
            greetings.append(await reader.readline())
    finally:
        for writer in writers:
            writer.close()
        await server.close()
    return greetings


Runner = Callable[[Coroutine[Any, Any, list[bytes]]], list[bytes]]


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_sessions_past_the_cap_get_421_before_the_greeting(run: Runner) -> None:
    greetings = run(_greetings(sessions=4, cap=2))
    assert [g[:3] for g in greetings] == [b"220", b"220", b"421", b"421"]
    assert greetings[2].startswith(b"421 4.7.0 Too many connections")


class _BusyBackend(_Backend):
    async def store_raw(self, peer: str, mail_from: str, rcpt_tos: list[str], raw: bytes) -> int:
        raise Busy(60.0)


async def test_at_capacity_a_mail_is_refused_with_451_and_the_sender_keeps_it() -> None:
    server = SmtpServer(_BusyBackend(), SmtpConfig(port=0))
    await server.start()
    try:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(_send, server.port)
    finally:
        await server.close()
    assert refused.value.smtp_code == 451
    assert "4.3.2 Too much mail waiting" in str(refused.value.smtp_error)


def _send(port: int) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail("a@example.com", ["support@example.com"], b"Subject: hi\r\n\r\nhello\r\n")
