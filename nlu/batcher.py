"""The sentence encoder's work for the event loop, done in one worker thread.

A parse the out-of-scope detector is unsure of needs the sentence encoder (``nlu.encoder``:
about 1.5 ms of CPU a short text). On the event loop, that stalls every other conversation
for as long; here the parse awaits it instead, and the loop serves others meanwhile.

One worker thread, because the process holds its BLAS to one thread and the encoder encodes
one batch at a time anyway. The texts that arrive while it is busy wait and then go together,
as one batch: a batch streams the weights (13 MB) once for all its texts, so a burst of
unusual messages costs far less than one at a time, and a text alone, the usual case, waits
for nothing. A text encoded in a batch comes out as it does alone to float32 rounding
(2e-7 at most on the shipped out-of-scope sets), which moves no verdict. With its int8 graph on
(``nlu.encoder.GRAPH``), the encoder runs one text at a time, exactly as alone, for
about what a text costs in a numpy batch (0.36 ms).

Bounded: at most ``WAITING`` texts wait or are being encoded; more callers wait their turn
before joining (the caller's own deadline bounds how long).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from nlu.encoder import BATCH, Reading

# Texts waiting for the encoder or in its hands, at most: about 0.1 s of its work for
# short texts encoded in batches.
WAITING = 256


class Reader(Protocol):
    """What the batcher needs of the encoder (``nlu.encoder.SentenceEncoder``)."""

    def read_many(self, texts: Sequence[str]) -> list[Reading]: ...


class EncoderBatcher:
    """Reads texts with the sentence encoder in a worker thread, a batch at a time."""

    def __init__(self, encoder: Reader, waiting: int = WAITING) -> None:
        self._encoder = encoder
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sentence-encoder")
        self._room = asyncio.Semaphore(waiting)
        self._queue: list[tuple[str, asyncio.Future[Reading]]] = []
        self._worker: asyncio.Task[None] | None = None
        self.batches = 0  # how many batches the worker thread encoded (for tests)

    async def read(self, text: str) -> Reading:
        """The encoder's reading of ``text``, without blocking the event loop."""
        async with self._room:
            future: asyncio.Future[Reading] = asyncio.get_running_loop().create_future()
            self._queue.append((text, future))
            if self._worker is None or self._worker.done():
                self._worker = asyncio.create_task(self._work(), name="sentence-encoder")
            return await future

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            batch, self._queue = self._queue[:BATCH], self._queue[BATCH:]
            # A caller that gave up (cancelled) needs no reading.
            batch = [(text, future) for text, future in batch if not future.done()]
            if not batch:
                continue
            try:
                readings = await loop.run_in_executor(
                    self._executor, self._encoder.read_many, [text for text, _ in batch]
                )
            except asyncio.CancelledError:  # closing: the batch's callers are cancelled too
                for _, future in batch:
                    future.cancel()
                raise
            except Exception as error:  # each caller learns the encoder's failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            self.batches += 1
            for (_, future), reading in zip(batch, readings, strict=True):
                if not future.done():
                    future.set_result(reading)

    async def close(self) -> None:
        """Stop the worker; callers still waiting are cancelled."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        for _, future in self._queue:
            future.cancel()
        self._queue.clear()
        # The batch in the thread, if any, finishes on its own: a few milliseconds.
        self._executor.shutdown(wait=False, cancel_futures=True)
