"""Message embeddings (migration 0016) and the nearest-first look-up of suggested replies.

Customer messages are embedded after they are stored (server/services/embedder.py); a
conversation's suggestions then ask for the customer messages of the same brand nearest to
its own, and take the first agent reply that followed each in a resolved conversation the
agent may see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import numpy as np
from numpy.typing import NDArray
from pgvector import Vector

from server.store.conversations import reach_filter, reach_params
from server.store.views import Conn
from web_console.access import Reach

# How many nearest customer messages the HNSW scan hands over before the brand, the reach and
# "followed by an agent reply in a resolved conversation" filter them. pgvector 0.6 filters
# after the index scan (no iterative scan before 0.8), so the scan's ef_search must be at
# least this many or it returns fewer rows than asked.
CANDIDATES = 100
# Texts longer than this are cut before embedding: a mean of token vectors gains nothing
# from a whole mail, and the cut bounds the worker's cost per message.
MAX_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Pending:
    """A customer message without an embedding yet."""

    id: int
    conversation_id: UUID
    brand_id: UUID
    text: str


@dataclass(frozen=True, slots=True)
class PastReply:
    """An agent's reply that followed a customer message like this conversation's."""

    text: str
    conversation_id: str
    language: str | None  # the language of the customer message it answered
    similarity: float  # cosine similarity of that customer message, 1 = the same direction
    agent_name: str | None


async def pending(conn: Conn, after_id: int, limit: int) -> list[Pending]:
    """Customer messages with id > after_id and text but no embedding, oldest first."""
    rows = await conn.fetch(
        """SELECT m.id, m.conversation_id, c.brand_id, left(m.text, $3) AS text
             FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE m.id > $1 AND m.author_kind = 'customer' AND m.text <> ''
              AND c.anonymised_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM message_embeddings e WHERE e.message_id = m.id)
            ORDER BY m.id LIMIT $2""",
        after_id,
        limit,
        MAX_CHARS,
    )
    return [Pending(r["id"], r["conversation_id"], r["brand_id"], r["text"]) for r in rows]


async def save(
    conn: Conn, model: str, rows: Sequence[Pending], vectors: NDArray[np.float32]
) -> int:
    """Store the vectors of these messages (one row of ``vectors`` each); a message embedded
    meanwhile (another node, the backfill) keeps its vector. Returns how many were new.

    A vector enters the search's index only once an agent answered its message in a resolved
    conversation (migration 0037): known here for a late vector (the backfill), and set by a
    trigger when the conversation is resolved for the rest."""
    if not rows:
        return 0
    async with conn.transaction():
        # The resolution's trigger sets `answered` for the vectors it can see; this insert,
        # for the conversations it sees resolved. The brands' shared locks make one side
        # wait for the other to commit (migration 0053), so no vector is missed by both.
        # An erasure takes them too (privacy.anonymise_conversations), so a batch read before
        # it stores nothing of the old text: its conversations are anonymised by then.
        await conn.execute(
            """SELECT pg_advisory_xact_lock_shared(k)
                 FROM (SELECT DISTINCT message_embeddings_lock(b) AS k
                         FROM unnest($1::uuid[]) AS b ORDER BY k) AS keys""",
            list({r.brand_id for r in rows}),
        )
        return await _insert(conn, model, rows, vectors)


async def _insert(
    conn: Conn, model: str, rows: Sequence[Pending], vectors: NDArray[np.float32]
) -> int:
    # The vectors go as a vector[] in pgvector's binary form (the codec register_vector
    # sets: one bytes string per vector). A flat float4[] of Python floats cost asyncpg
    # three isinstance checks against ABCs and a float encoding per element: the save was
    # 12 % of the server's samples under web-chat load (bench.cost at 700 msg/s, py-spy).
    # A Vector, unlike an ndarray, is not iterable, so asyncpg takes it as one element.
    # Committed without waiting for the WAL flush (as nlu.commit_without_flush): vectors are
    # derived data, and a node's first pass starts from the first message (Embedder.start;
    # `switchboard embeddings backfill` is the same pass), so those a database crash loses
    # (the last few hundred milliseconds of them) are embedded again. Waiting, each batch's
    # commit flushed the WAL on its own and held the WAL write lock that the messages'
    # durable commits queue for (pg_stat_activity sampled every 5 ms under web-chat load at
    # 1,500 msg/s: the save waited on WALSync or WALWrite in 64 of its 85 samples).
    result = await conn.fetchval(
        """WITH saved AS (
               INSERT INTO message_embeddings (message_id, conversation_id, brand_id, model,
                                               embedding, answered)
               SELECT u.m, u.c, u.b, $4, u.v,
                      EXISTS (SELECT 1 FROM conversations c
                                JOIN messages q ON q.id = u.m
                                JOIN messages r ON r.conversation_id = c.id AND r.seq > q.seq
                               WHERE c.id = u.c AND c.status = 'resolved'
                                 AND r.author_kind = 'agent' AND r.text <> '')
                 FROM unnest($1::bigint[], $2::uuid[], $3::uuid[], $5::vector[])
                      AS u(m, c, b, v)
                WHERE NOT EXISTS (SELECT 1 FROM conversations c
                                   WHERE c.id = u.c AND c.anonymised_at IS NOT NULL)
               ON CONFLICT (message_id) DO NOTHING RETURNING 1)
           SELECT count(*), set_config('synchronous_commit', 'off', true) FROM saved""",
        [r.id for r in rows],
        [r.conversation_id for r in rows],
        [r.brand_id for r in rows],
        model,
        [Vector(v) for v in np.asarray(vectors, dtype=np.float32)],
    )
    return int(result)


async def similar_replies(
    conn: Conn,
    conversation_id: UUID,
    brand_id: UUID,
    model: str,
    vector: NDArray[np.float32],
    reach: Reach,
    limit: int,
) -> list[PastReply]:
    """The first agent reply after each of the customer messages nearest to ``vector`` in
    the brand's other resolved conversations that ``reach`` lets the agent see, nearest
    first; up to ``limit`` distinct texts."""
    async with conn.transaction():
        # SET LOCAL lasts until the transaction ends: the pool's connection goes back as
        # it came.
        await conn.execute(f"SET LOCAL hnsw.ef_search = {CANDIDATES}")
        rows = await conn.fetch(
            """WITH near AS (
                   SELECT e.message_id, e.conversation_id, e.embedding <=> $1 AS distance
                     FROM message_embeddings e
                    WHERE e.answered AND e.brand_id = $2 AND e.model = $3
                      AND e.conversation_id <> $4
                    ORDER BY e.embedding <=> $1 LIMIT $5)
               SELECT r.text, n.conversation_id, m.language, 1 - n.distance AS similarity,
                      a.name AS agent_name
                 FROM near n
                 JOIN conversations c ON c.id = n.conversation_id
                 JOIN messages m ON m.id = n.message_id
                 JOIN LATERAL (SELECT r.text, r.author_id FROM messages r
                                WHERE r.conversation_id = n.conversation_id AND r.seq > m.seq
                                  AND r.author_kind = 'agent' AND r.text <> ''
                                ORDER BY r.seq LIMIT 1) r ON true
                 LEFT JOIN agents a ON a.id = r.author_id
                WHERE c.status = 'resolved' AND c.anonymised_at IS NULL AND """
            + reach_filter(6)
            + " ORDER BY n.distance",
            vector,
            brand_id,
            model,
            conversation_id,
            CANDIDATES,
            *reach_params(reach),
        )
    found: list[PastReply] = []
    seen: set[str] = set()
    for r in rows:
        key = " ".join(r["text"].split()).casefold()
        if key in seen:
            continue
        seen.add(key)
        found.append(
            PastReply(
                r["text"],
                str(r["conversation_id"]),
                r["language"],
                float(r["similarity"]),
                r["agent_name"],
            )
        )
    return found[:limit]


@dataclass(frozen=True, slots=True)
class CustomerTurn:
    """One of the customer's messages in the open conversation, as understood."""

    text: str
    intent: str | None
    language: str | None
    sentiment: float | None


@dataclass(frozen=True, slots=True)
class Opened:
    """What suggestions start from: the conversation's brand and language, and its
    customer's latest messages, newest first."""

    brand_id: UUID
    language: str | None
    turns: list[CustomerTurn]


async def opened(conn: Conn, conversation_id: UUID, turns: int) -> Opened:
    """The conversation's brand, language and latest ``turns`` customer messages (the
    caller has checked that it exists and that the agent may see it)."""
    conversation = await conn.fetchrow(
        "SELECT brand_id, language FROM conversations WHERE id = $1", conversation_id
    )
    assert conversation is not None
    rows = await conn.fetch(
        """SELECT text, nlu->>'intent' AS intent, language, sentiment FROM messages
            WHERE conversation_id = $1 AND author_kind = 'customer' AND text <> ''
            ORDER BY seq DESC LIMIT $2""",
        conversation_id,
        turns,
    )
    return Opened(
        conversation["brand_id"],
        conversation["language"],
        [CustomerTurn(r["text"], r["intent"], r["language"], r["sentiment"]) for r in rows],
    )
