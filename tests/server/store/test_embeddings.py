"""Message vectors enter the suggestions' HNSW index only once an agent answered the message
in a resolved conversation (migration 0037), whichever comes first: the vector or the
resolution; the search finds exactly those."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import numpy as np
from numpy.typing import NDArray

from server import store
from server.store import embeddings, privacy
from web_console.access import Reach

MODEL = "test-model"


async def _conversation(pool: asyncpg.Pool, name: str) -> str:
    row = await pool.fetchrow(
        """WITH contact AS (
               INSERT INTO contacts (brand_id, name)
               SELECT brand_id, $1 FROM inboxes WHERE address = 'demo-web' RETURNING id)
           INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, status)
           SELECT i.brand_id, i.id, contact.id, 'webchat', 'assigned'
             FROM inboxes i, contact WHERE i.address = 'demo-web' RETURNING id""",
        name,
    )
    assert row is not None
    return str(row["id"])


async def _say(pool: asyncpg.Pool, conversation_id: str, kind: str, text: str) -> int:
    async with pool.acquire() as conn:
        message = await store.insert_message(
            conn,
            conversation_id,
            direction="in" if kind == "customer" else "out",
            author_kind=kind,
            channel="webchat",
            text=text,
        )
    assert message is not None
    return int(message["id"])


def _vector(seed: int) -> NDArray[np.float32]:
    v = np.random.default_rng(seed).standard_normal(256).astype(np.float32)
    return np.asarray(v / np.linalg.norm(v), dtype=np.float32)


async def _embed(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        pending = await embeddings.pending(conn, 0, 100)
        vectors = np.stack([_vector(p.id) for p in pending])
        await embeddings.save(conn, MODEL, pending, vectors)


async def _answered(pool: asyncpg.Pool) -> dict[int, bool]:
    rows = await pool.fetch("SELECT message_id, answered FROM message_embeddings")
    return {r["message_id"]: r["answered"] for r in rows}


async def _resolve(pool: asyncpg.Pool, conversation_id: str) -> None:
    await pool.execute(
        "UPDATE conversations SET status = 'resolved' WHERE id = $1", conversation_id
    )


async def test_a_vector_is_searchable_once_answered_and_resolved_in_either_order(
    pool: asyncpg.Pool,
) -> None:
    # Resolved before the vector is stored (the backfill, a lagging embedder).
    early = await _conversation(pool, "early")
    early_question = await _say(pool, early, "customer", "where is my parcel")
    await _say(pool, early, "agent", "It left the warehouse this morning.")
    early_thanks = await _say(pool, early, "customer", "thanks")
    await _resolve(pool, early)
    # Embedded while open, resolved afterwards (the common case).
    late = await _conversation(pool, "late")
    late_question = await _say(pool, late, "customer", "my card was refused")
    await _say(pool, late, "agent", "Please try again; the bank's outage is over.")
    # Answered, never resolved; and resolved, never answered by an agent.
    open_ = await _conversation(pool, "open")
    open_question = await _say(pool, open_, "customer", "can I change my address")
    await _say(pool, open_, "agent", "Yes, in your account settings.")
    bot_only = await _conversation(pool, "bot")
    bot_question = await _say(pool, bot_only, "customer", "opening hours")
    await _resolve(pool, bot_only)

    await _embed(pool)
    assert await _answered(pool) == {
        early_question: True,
        early_thanks: False,
        late_question: False,
        open_question: False,
        bot_question: False,
    }
    await _resolve(pool, late)
    flags = await _answered(pool)
    assert flags[late_question] is True
    assert [m for m, answered in flags.items() if answered] == sorted(
        [early_question, late_question]
    )

    # The search returns the answered ones only, nearest first.
    brand_id = await pool.fetchval("SELECT brand_id FROM conversations WHERE id = $1", late)
    asker = await _conversation(pool, "asker")
    async with pool.acquire() as conn:
        found = await embeddings.similar_replies(
            conn,
            uuid.UUID(asker),
            brand_id,
            MODEL,
            _vector(late_question),
            Reach(True, (), (), (), str(uuid.uuid4())),
            10,
        )
    assert found[0].conversation_id == late
    assert {f.conversation_id for f in found} == {early, late}


async def test_each_message_keeps_its_own_vector(pool: asyncpg.Pool) -> None:
    conversation_id = await _conversation(pool, "several")
    ids = [await _say(pool, conversation_id, "customer", f"question {n}") for n in range(3)]
    await _embed(pool)
    rows = await pool.fetch("SELECT message_id, embedding FROM message_embeddings")
    stored = {r["message_id"]: r["embedding"].to_numpy() for r in rows}
    assert sorted(stored) == ids
    for message_id in ids:
        np.testing.assert_array_equal(stored[message_id], _vector(message_id))


async def test_a_deleted_conversation_takes_its_vectors_with_it(pool: asyncpg.Pool) -> None:
    """Through its messages (the vectors' one foreign key since migration 0044)."""
    gone = await _conversation(pool, "gone")
    kept = await _conversation(pool, "kept")
    await _say(pool, gone, "customer", "delete me")
    kept_id = await _say(pool, kept, "customer", "keep me")
    await _embed(pool)
    await pool.execute("DELETE FROM conversations WHERE id = $1", gone)
    assert list(await _answered(pool)) == [kept_id]


async def _until_waiting(pool: asyncpg.Pool, task: asyncio.Task[object]) -> None:
    """Until ``task`` waits for a lock (or has finished without waiting)."""
    while not task.done():
        waiting = await pool.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted")
        if waiting:
            return
        await asyncio.sleep(0.01)


async def test_a_vector_stored_while_its_conversation_is_resolved_is_found_either_way(
    pool: asyncpg.Pool,
) -> None:
    """Each side's snapshot missed the other's uncommitted row (migration 0053): the vector
    stayed out of the search for good. Now the second side waits for the first's commit."""
    # The resolution commits while the vector is being stored.
    first = await _conversation(pool, "resolving")
    first_question = await _say(pool, first, "customer", "my parcel is lost")
    await _say(pool, first, "agent", "I've sent a new one today.")
    async with pool.acquire() as resolving, pool.acquire() as embedding:
        pending = await embeddings.pending(embedding, 0, 100)
        async with resolving.transaction():
            await resolving.execute(
                "UPDATE conversations SET status = 'resolved' WHERE id = $1", first
            )
            saving = asyncio.ensure_future(
                embeddings.save(
                    embedding, MODEL, pending, np.stack([_vector(p.id) for p in pending])
                )
            )
            await _until_waiting(pool, saving)
        await saving
    assert (await _answered(pool))[first_question] is True

    # The vector commits while the conversation is being resolved.
    second = await _conversation(pool, "embedding")
    second_question = await _say(pool, second, "customer", "my card was charged twice")
    await _say(pool, second, "agent", "The second charge is refunded.")
    async with pool.acquire() as embedding:
        async with embedding.transaction():
            pending = await embeddings.pending(embedding, first_question, 100)
            await embeddings.save(
                embedding, MODEL, pending, np.stack([_vector(p.id) for p in pending])
            )
            resolution = asyncio.ensure_future(_resolve(pool, second))
            await _until_waiting(pool, resolution)
        await resolution
    assert (await _answered(pool))[second_question] is True


async def test_an_erasure_and_a_batch_at_the_same_time_neither_deadlock_nor_keep_the_text(
    pool: asyncpg.Pool,
) -> None:
    """An erasure anonymises the messages (their channel ids, a unique key: a row lock the
    batch's foreign key waits on), then resolves the open conversation, whose trigger takes
    the brand's lock the batch held: a deadlock, the review found. The erasure now takes the
    lock first; the batch waits for it and stores no vector of the erased text."""
    erased = await _conversation(pool, "erased")
    async with pool.acquire() as conn:
        message = await store.insert_message(
            conn,
            erased,
            direction="in",
            author_kind="customer",
            channel="webchat",
            text="my address is 1 Main St",
            external_id=f"client-{uuid.uuid4()}",
        )
    assert message is not None
    async with pool.acquire() as eraser, pool.acquire() as embedding:
        pending = await embeddings.pending(embedding, 0, 100)
        async with eraser.transaction():
            await privacy.anonymise_conversations(eraser, [uuid.UUID(erased)])
            saving = asyncio.ensure_future(
                embeddings.save(
                    embedding, MODEL, pending, np.stack([_vector(p.id) for p in pending])
                )
            )
            await _until_waiting(pool, saving)
            await eraser.execute(
                "UPDATE conversations SET status = 'resolved' WHERE id = $1", uuid.UUID(erased)
            )
        assert await saving == 0
    assert await _answered(pool) == {}
