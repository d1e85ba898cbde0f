"""The per-address session cap answers 421 on every event loop the server runs on (uvloop in
production, asyncio in most tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop

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
