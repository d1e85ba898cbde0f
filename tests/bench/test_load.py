"""The web chat part's load generator: a step ends when every message sent was seen or
refused, not when its wait runs out (a refused message never arrives)."""

from __future__ import annotations

import asyncio

from bench.load import _settle


async def test_a_step_settles_once_every_message_is_seen_or_refused() -> None:
    received = [0.01, 0.02, 0.03]
    async with asyncio.timeout(30):
        await _settle(received, 5, lambda: 2, limit=3600)


async def test_a_step_still_waiting_for_a_message_waits_for_it() -> None:
    received = [0.01]

    async def arrive() -> None:
        await asyncio.sleep(0.2)
        received.append(0.2)

    late = asyncio.create_task(arrive())
    async with asyncio.timeout(30):
        await _settle(received, 3, lambda: 1, limit=3600)
    assert late.done()
    assert len(received) == 2
