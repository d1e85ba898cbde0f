"""The bounded work queue: a fixed number of workers, a fixed backlog, refusals counted, and
a failing item that does not stop the next."""

from __future__ import annotations

import asyncio

from server.workers import WorkQueue


async def test_past_its_size_an_item_is_refused_and_the_rest_are_handled() -> None:
    release = asyncio.Event()
    handled: list[int] = []

    async def handle(n: int) -> None:
        await release.wait()
        if n == 2:
            raise RuntimeError("a bug in one item")
        handled.append(n)

    work: WorkQueue[int] = WorkQueue("test", handle, workers=1, size=3)
    offered = [work.offer(n) for n in range(6)]
    # One item waits in the queue until the worker takes it: the worker has not run yet, so
    # the queue holds 3 and the rest are refused.
    assert offered == [True, True, True, False, False, False]
    assert work.refused == 3
    release.set()
    await work.settled()
    assert handled == [0, 1]
    assert work.offer(7)
    await work.settled()
    assert handled == [0, 1, 7]
    await work.close()
