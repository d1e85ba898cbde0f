"""The mailroom's back-pressure against real Postgres, with a pipeline that stores only when
told to: at most MAX_PENDING accepted mails wait to reach the console; the next DATA waits
for room, is stored once there is, and is refused (Busy, the SMTP 451) with nothing stored
when none comes in time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
import pytest

from channels.base import Busy, InboundMessage
from channels.email.parsing import Limits, ParsedMail, parse
from channels.email.workers import ParserPool
from server.live.bus import InProcessBus
from server.metrics import Metrics
from server.pipeline.flow import Pipeline
from server.services import demo, mailroom
from server.services.mailroom import Mailroom
from tests import mail


class Parser:
    """The parser pool's interface, parsing in-process (the workers are tested apart)."""

    workers = 1

    async def parse(self, raw: bytes, mail_from: str) -> ParsedMail:
        return parse(raw, mail_from, Limits())

    def close(self) -> None:
        return None


@dataclass
class Gate:
    """A pipeline that stores a mail only once ``open`` is set, and records each."""

    open: asyncio.Event = field(default_factory=asyncio.Event)
    ingested: list[InboundMessage] = field(default_factory=list)

    async def ingest(self, inbound: InboundMessage) -> Any:
        await self.open.wait()
        self.ingested.append(inbound)

        @dataclass
        class Stored:
            message: dict[str, Any]
            duplicate: bool = False

        return Stored({"conversation_id": None})


def _raw(n: int) -> bytes:
    return mail.mail(subject=f"question {n}", message_id=f"pressure-{n}@example.com").as_bytes()


async def test_past_the_bound_a_data_waits_for_room_and_is_refused_when_none_comes(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailroom, "MAX_PENDING", 2)
    monkeypatch.setattr(mailroom, "ROOM_SECONDS", 0.3)
    gate = Gate()
    metrics = Metrics()
    room = Mailroom(
        pool,
        cast(Pipeline, gate),
        InProcessBus(metrics),
        metrics,
        cast(ParserPool, Parser()),
    )
    rcpt = [demo.EMAIL_INBOX]
    try:
        for n in (1, 2):
            await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(n))
        with pytest.raises(Busy):  # two wait to reach the console: no room in time
            await room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(3))
        assert await pool.fetchval("SELECT count(*) FROM mail_receipts") == 2  # none stored
        monkeypatch.setattr(mailroom, "ROOM_SECONDS", 30.0)
        waiting = asyncio.create_task(room.store_raw("127.0.0.1", "ada@example.com", rcpt, _raw(3)))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # held, not refused, while room may still come
        gate.open.set()  # the first two reach the console
        await asyncio.wait_for(waiting, 30)
        await room.settled()
        subjects = sorted(m.subject or "" for m in gate.ingested)
        assert subjects == ["question 1", "question 2", "question 3"]
        states = await pool.fetch("SELECT state FROM mail_receipts")
        assert [r["state"] for r in states] == ["stored"] * 3
    finally:
        await room.close()
