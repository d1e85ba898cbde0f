"""The embedder's background passes (server/services/embedder.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import numpy as np
import pytest

from server.services import embedder
from server.services.embedder import Embedder
from server.store import embeddings


class _Pool:
    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[None]:
        yield None


async def test_a_failed_pass_is_followed_by_one_from_the_first_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Vectors are committed without waiting for the WAL flush, so a database that crashed
    may have lost some far below the pass's usual window (its highest id less SLACK): after
    a failure the next pass reads from the start, without a restart of the node."""
    asked: list[int] = []
    second = asyncio.Event()

    async def pending(conn: Any, after_id: int, batch: int) -> list[Any]:
        asked.append(after_id)
        if len(asked) == 1:
            raise ConnectionError("the database restarted")
        second.set()
        return []

    monkeypatch.setattr(embeddings, "pending", pending)
    monkeypatch.setattr(embedder, "PACE_SECONDS", 0.0)
    worker = Embedder(_Pool(), embedder.WordLlamaEmbedder(), sweep_seconds=0.0)  # type: ignore[arg-type]
    worker._highest = 50_000  # embedded far past SLACK before the database went down
    await worker.start()
    try:
        await asyncio.wait_for(second.wait(), 10)
    finally:
        await worker.close()
    assert asked[:2] == [0, 0]


async def test_a_pass_that_read_less_than_a_batch_asks_no_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fewer rows than a batch means none more were pending: the pass ends without a read
    that could only come back empty; a full batch is followed by the next one."""
    asked: list[int] = []
    waiting = [embeddings.Pending(n, uuid4(), uuid4(), f"text {n}") for n in range(1, 6)]

    async def pending(conn: Any, after_id: int, batch: int) -> list[Any]:
        asked.append(after_id)
        return [p for p in waiting if p.id > after_id][:batch]

    async def save(conn: Any, model: str, rows: list[Any], vectors: Any) -> int:
        return len(rows)

    monkeypatch.setattr(embeddings, "pending", pending)
    monkeypatch.setattr(embeddings, "save", save)
    worker = Embedder(_Pool(), embedder.WordLlamaEmbedder(), batch=2)  # type: ignore[arg-type]
    assert await worker.embed_pending() == 5
    assert asked == [0, 2, 4]  # 2, 2, then 1 of a batch of 2: done


async def test_a_batch_is_embedded_a_slice_at_a_time_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The thread embeds at most SLICE texts a call (it holds the GIL while it embeds, and the
    event loop waits for it), and the batch's vectors come back in the rows' order."""
    waiting = [embeddings.Pending(n, uuid4(), uuid4(), f"text {n}") for n in range(1, 151)]
    saved: list[tuple[list[int], Any]] = []

    async def pending(conn: Any, after_id: int, batch: int) -> list[Any]:
        return [p for p in waiting if p.id > after_id][:batch]

    async def save(conn: Any, model: str, rows: list[Any], vectors: Any) -> int:
        saved.append(([r.id for r in rows], vectors))
        return len(rows)

    class Numbered:
        """Each text's vector is its number, so the order shows."""

        model = "numbered"
        calls: list[int] = []

        def embed(self, texts: Any) -> np.ndarray[Any, np.dtype[np.float32]]:
            self.calls.append(len(texts))
            return np.array([[float(t.split()[1])] for t in texts], dtype=np.float32)

    monkeypatch.setattr(embeddings, "pending", pending)
    monkeypatch.setattr(embeddings, "save", save)
    numbered = Numbered()
    worker = Embedder(_Pool(), numbered, batch=512)  # type: ignore[arg-type]
    assert await worker.embed_pending() == 150
    assert numbered.calls == [embedder.SLICE, embedder.SLICE, 150 - 2 * embedder.SLICE]
    [(ids, vectors)] = saved
    assert ids == list(range(1, 151))
    assert vectors[:, 0].tolist() == [float(n) for n in range(1, 151)]
