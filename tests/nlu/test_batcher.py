"""The sentence encoder's worker thread (nlu/batcher.py): parses await the encoder instead of
running it on the event loop; texts that wait together are read together, as each would be
alone; the waiting is bounded; failures and closing reach every caller."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from nlu import encoder
from nlu.batcher import EncoderBatcher
from nlu.encoder import Reading


class HeldEncoder:
    """An encoder stand-in that reads only when the test lets it, and records each batch
    and the thread it ran on."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.threads: list[threading.Thread] = []
        self.started = threading.Semaphore(0)
        self.release = threading.Event()
        self.failure: Exception | None = None

    def read_many(self, texts: Sequence[str]) -> list[Reading]:
        self.batches.append(list(texts))
        self.threads.append(threading.current_thread())
        self.started.release()
        self.release.wait(timeout=30)
        if self.failure is not None:
            raise self.failure
        return [Reading(np.full(2, float(len(t))), float(len(t))) for t in texts]


async def started(held: HeldEncoder) -> None:
    """Until the worker thread has begun a batch (recorded state, not a sleep)."""
    assert await asyncio.to_thread(held.started.acquire, True, 30)


async def test_the_loop_serves_others_while_the_encoder_reads() -> None:
    held = HeldEncoder()
    batcher = EncoderBatcher(held)
    reading = asyncio.create_task(batcher.read("how do I repot an orchid"))
    await started(held)
    # The encoder is busy in its thread, and the loop still runs other work.
    other = await asyncio.wait_for(asyncio.sleep(0, "served"), timeout=5)
    assert other == "served"
    assert not reading.done()
    held.release.set()
    assert (await reading).fluency == len("how do I repot an orchid")
    assert held.threads[0] is not threading.current_thread()
    await batcher.close()


async def test_texts_that_wait_together_are_read_in_one_batch() -> None:
    held = HeldEncoder()
    batcher = EncoderBatcher(held)
    first = asyncio.create_task(batcher.read("first"))
    await started(held)
    # These arrive while the encoder reads the first: they go together, once it is done.
    rest = [asyncio.create_task(batcher.read(t)) for t in ("second", "third", "fourth")]
    await asyncio.sleep(0)
    held.release.set()
    readings = await asyncio.gather(first, *rest)
    assert [r.fluency for r in readings] == [5.0, 6.0, 5.0, 6.0]
    assert held.batches == [["first"], ["second", "third", "fourth"]]
    await batcher.close()


async def test_no_more_than_the_bound_wait_for_the_encoder() -> None:
    held = HeldEncoder()
    batcher = EncoderBatcher(held, waiting=2)
    tasks = [asyncio.create_task(batcher.read(t)) for t in ("a", "b", "c", "d")]
    await started(held)
    for _ in range(5):
        await asyncio.sleep(0)
    # Two texts were taken in; the other two wait their turn outside.
    assert held.batches == [["a", "b"]]
    held.release.set()
    await asyncio.gather(*tasks)
    assert held.batches == [["a", "b"], ["c", "d"]]
    await batcher.close()


async def test_an_encoder_failure_reaches_each_caller_of_its_batch() -> None:
    held = HeldEncoder()
    held.failure = RuntimeError("out of memory")
    held.release.set()
    batcher = EncoderBatcher(held)
    results = await asyncio.gather(batcher.read("one"), batcher.read("two"), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    held.failure = None  # the next text is read again
    assert (await batcher.read("three")).fluency == 5.0
    await batcher.close()


async def test_closing_cancels_the_callers_still_waiting() -> None:
    held = HeldEncoder()
    batcher = EncoderBatcher(held)
    reading = asyncio.create_task(batcher.read("left waiting"))
    await started(held)
    await batcher.close()
    with pytest.raises(asyncio.CancelledError):
        await reading
    held.release.set()


async def test_a_batch_of_the_real_encoder_reads_as_each_text_alone() -> None:
    """A batch streams the encoder's weights once for all its texts; each vector is the
    one it gets alone, to float32 rounding, and its fluency the same."""
    found = encoder.shared()
    if found is None:
        pytest.skip("the encoder's packages are not installed")
    texts = ["où est ma commande ?", "how do I repot an orchid", "asdf qwerty", "hi"]
    found.forget()
    alone = [found.read(t) for t in texts]
    found.forget()
    batcher = EncoderBatcher(found)
    together = await asyncio.gather(*(batcher.read(t) for t in texts))
    assert batcher.batches <= 2
    for one, other in zip(alone, together, strict=True):
        assert np.allclose(one.vector, other.vector, atol=1e-6)
        assert one.fluency == other.fluency
    await batcher.close()
