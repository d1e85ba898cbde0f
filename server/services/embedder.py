"""Customer messages get their embedding after they are stored, off the ingest path.

Ingest only publishes ``message.created`` as it always did; this worker listens on the bus,
and a customer's message sets a flag (nothing is queued per message, so a burst costs
nothing but the flag). One task then reads the messages still without a vector from
Postgres, a batch at a time, embeds them in a thread and stores them. Postgres is the queue:
a message published while the worker is busy, on another node, or before a restart is found
by the next pass, and the backfill (``switchboard embeddings backfill``) is the same pass
from the first message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import structlog
from numpy.typing import NDArray

from server import events
from server.events import Event
from server.store import Pool
from server.store import embeddings as store

log = structlog.get_logger(__name__)

BATCH = 512
# A pass starts this many ids before the highest it has embedded: two ingests commit in
# either order, so a smaller id can become visible after a larger one was embedded.
SLACK = 1000
# With nothing published (another node ingests, the bus dropped an event), a pass runs
# anyway this often.
SWEEP_SECONDS = 60.0
# Passes start at most this often. Each pass rereads its SLACK window, so under a burst a pass
# for every few messages cost more than the vectors (about 0.9 ms of PostgreSQL a pass, 0.27 ms
# a message at 300 msg/s, bench/cost.py); paced, a pass takes the burst's messages in a batch.
# Vectors serve suggestions and the knowledge-base gaps, which can wait this long.
PACE_SECONDS = 0.25
# After a pass that embedded at least BUSY messages (the node takes in more than about
# 1,000 customer messages a second), the next one waits BUSY_PACE_SECONDS: vectors are
# derived data and yield to ingest. At 2,000 web-chat messages a second, passes every
# 0.25 s read 1,500 rows for 500 new ones (the SLACK window again each time) in two or
# three reads and saves, and the embedder took 0.11 of a core in the server and about 0.1
# in PostgreSQL (the ws14 probe: 0.40 / 0.33 cores against 0.29 / 0.22 with the embedder
# off, 21:28-21:30 UTC); a pass a second reads 3,000 rows for 2,000, in four batches.
BUSY = 256
BUSY_PACE_SECONDS = 1.0
# Texts embedded per call in a thread: the thread holds the GIL while it embeds (numpy's
# small operations do not let it go), and the event loop waits for it up to the interpreter's
# switch interval (5 ms) each time it wants it back; a short call bounds that wait (64
# texts of a chat message: about 0.6 ms).
SLICE = 64


class TextEmbedder(Protocol):
    """Turns texts into unit-length vectors of the table's dimension (CPU work: call it in a
    thread)."""

    @property
    def model(self) -> str:
        """What made the vectors, stored beside them."""
        ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class WordLlamaEmbedder:
    """WordLlama's static vectors (nlu/embedding.py), the model docs/suggestions.md chose."""

    model = "wordllama-l2-supercat-256"

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        from nlu.embedding import token_vectors

        return token_vectors().embed_many(list(texts)).astype(np.float32)


class Embedder:
    """The background worker; ``notice`` is its bus listener."""

    def __init__(
        self,
        pool: Pool,
        embedder: TextEmbedder,
        *,
        batch: int = BATCH,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self._pool = pool
        self._embedder = embedder
        self._batch = batch
        self._sweep_seconds = sweep_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._highest = 0
        self.embedded = 0

    @property
    def model(self) -> str:
        return self._embedder.model

    async def _embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """The texts' vectors, computed in a thread SLICE texts at a time."""
        slices = [
            await asyncio.to_thread(self._embedder.embed, texts[start : start + SLICE])
            for start in range(0, len(texts), SLICE)
        ]
        return np.concatenate(slices) if len(slices) != 1 else slices[0]

    async def vector(self, text: str) -> NDArray[np.float32]:
        """One text's vector, computed in a thread."""
        vectors = await asyncio.to_thread(self._embedder.embed, [text[: store.MAX_CHARS]])
        first: NDArray[np.float32] = vectors[0]
        return first

    def notice(self, event: Event) -> None:
        if event.name != events.MESSAGE_CREATED:
            return
        message = event.data.get("message")
        if message is not None and message["author_kind"] == "customer":
            self._wake.set()

    async def start(self) -> None:
        # The first pass starts from the first message: whatever arrived while no node ran.
        self._task = asyncio.create_task(self._run(), name="embedder")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def embed_pending(self, after_id: int = 0) -> int:
        """Embed every customer message with id > after_id that has no vector yet, a batch at a
        time; returns how many were stored."""
        stored = 0
        cursor = after_id
        while True:
            async with self._pool.acquire() as conn:
                rows = await store.pending(conn, cursor, self._batch)
            if not rows:
                return stored
            vectors = await self._embed([r.text for r in rows])
            async with self._pool.acquire() as conn:
                stored += await store.save(conn, self.model, rows, vectors)
            cursor = rows[-1].id
            self._highest = max(self._highest, cursor)
            self.embedded += len(rows)
            if len(rows) < self._batch:
                # Nothing more was pending when read: asking again would find nothing (a
                # statement of 20-45 ms under the ws bench's load); what arrives since
                # wakes the next pass.
                return stored

    async def _run(self) -> None:
        after = 0
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            began = loop.time()
            pace = PACE_SECONDS
            embedded = self.embedded
            try:
                await self.embed_pending(after)
                if self.embedded - embedded >= BUSY:
                    pace = BUSY_PACE_SECONDS
            except Exception:
                # The rows stay pending: the next pass tries them again, from the first
                # message: vectors are committed without waiting for the WAL flush, so a
                # database that crashed may have lost some below the usual window.
                log.exception("embedding messages failed")
                self._highest = 0
            after = max(self._highest - SLACK, 0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._sweep_seconds)
            await asyncio.sleep(max(0.0, began + pace - loop.time()))
