"""`make bench`'s suggestions part: how long the console waits for a conversation's suggested
replies when the brand holds 100,000 past customer messages, on an embedded Postgres.

Data: 100,000 resolved conversations of the demo brand, each a customer message and the
agent's reply (200,000 messages). The customer texts are the NLU project's examples, each
made distinct by an order number; the replies are the bot's answer to the example's intent,
numbered. Every customer message is embedded by the embedding worker's own backfill pass
(server/services/embedder.py), with the HNSW index in place, as a running node does: the
backfill's rate is a figure too.

Then 200 open conversations, one customer message each with its intent stored as the NLU
stores it, ask for their suggestions one at a time, as a supervisor of the brand (the
service call the endpoint makes after its access check). Figures: p50/p99 of that call,
and its parts' cost alone: embedding the query, and the nearest-replies query.

BENCH_SUGGESTION_MESSAGES sets the stored conversations (bench/sizes.py). Run alone with
`python -m bench.suggestions` or BENCH_ONLY=suggestions.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from bench.report import machine, percentile, publish
from bench.sizes import SUGGESTION_MESSAGES, SUGGESTION_QUERIES
from nlu.project import load_project
from nlu.responses import BotAnswers
from server.services import demo
from server.services.embedder import Embedder, WordLlamaEmbedder
from server.services.suggestions import Suggestions
from server.settings import DEFAULT_NLU_PROJECT
from server.store import database
from server.store import embeddings as store
from web_console.access import Reach

START, END = "<!-- suggestions:start -->", "<!-- suggestions:end -->"
CHUNK = 10_000  # conversations inserted per statement


async def seed(pool: asyncpg.Pool, answers: BotAnswers, count: int) -> tuple[str, str]:
    """``count`` resolved conversations (customer message, agent reply); the brand's and the
    replying agent's ids."""
    await demo.seed(pool)
    project = load_project(DEFAULT_NLU_PROJECT)
    rng = random.Random(16)
    examples = [(e.text, e.intent) for e in project.examples]
    replies = {
        intent: (answer.text if (answer := answers.answer(intent, "en")) else "Let me check.")
        for intent in project.intents
    }
    brand = await pool.fetchval("SELECT id FROM brands WHERE slug = $1", demo.BRAND_SLUG)
    inbox = await pool.fetchval("SELECT id FROM inboxes WHERE address = $1", demo.WEBCHAT_INBOX)
    agent = await pool.fetchval(
        "INSERT INTO agents (email, name, password_hash) VALUES ('bench@example.com',"
        " 'Bench Agent', 'x') RETURNING id"
    )
    contacts = [
        r["id"]
        for r in await pool.fetch(
            "INSERT INTO contacts (brand_id, name) SELECT $1, 'c' || n"
            " FROM generate_series(1, 1000) n RETURNING id",
            brand,
        )
    ]
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        ids = [uuid.uuid4() for _ in range(size)]
        picked = [rng.choice(examples) for _ in range(size)]
        asked = [f"{text} (order {rng.randrange(10**5, 10**6)})" for text, _ in picked]
        answered = [f"{replies[intent]} [{n}]" for n, (_, intent) in enumerate(picked)]
        await pool.execute(
            """INSERT INTO conversations (id, brand_id, inbox_id, contact_id, channel, status,
                                          last_seq, resolved_at, language)
               SELECT i, $2, $3, c, 'webchat', 'resolved', 2, now(), 'en'
                 FROM unnest($1::uuid[], $4::uuid[]) AS u(i, c)""",
            ids,
            brand,
            inbox,
            [contacts[n % len(contacts)] for n in range(size)],
        )
        await pool.execute(
            """INSERT INTO messages (conversation_id, seq, direction, author_kind, author_id,
                                     channel, text, language)
               SELECT i, 1, 'in', 'customer', NULL::uuid, 'webchat', q, 'en'
                 FROM unnest($1::uuid[], $2::text[]) AS u(i, q)
               UNION ALL
               SELECT i, 2, 'out', 'agent', $4::uuid, 'console', a, NULL
                 FROM unnest($1::uuid[], $3::text[]) AS u(i, a)""",
            ids,
            asked,
            answered,
            agent,
        )
    return str(brand), str(agent)


async def open_conversations(pool: asyncpg.Pool, count: int) -> list[uuid.UUID]:
    """``count`` queued conversations, each a customer message with its intent stored."""
    project = load_project(DEFAULT_NLU_PROJECT)
    rng = random.Random(61)
    picked = [rng.choice(project.examples) for _ in range(count)]
    ids = [uuid.uuid4() for _ in range(count)]
    brand = await pool.fetchval("SELECT id FROM brands WHERE slug = $1", demo.BRAND_SLUG)
    inbox = await pool.fetchval("SELECT id FROM inboxes WHERE address = $1", demo.WEBCHAT_INBOX)
    contacts = await pool.fetch(
        "INSERT INTO contacts (brand_id, name) SELECT $1, 'open' || n"
        " FROM generate_series(1, $2) n RETURNING id",
        brand,
        count,
    )
    await pool.execute(
        """INSERT INTO conversations (id, brand_id, inbox_id, contact_id, channel, status,
                                      last_seq, language)
           SELECT i, $2, $3, c, 'webchat', 'queued', 1, 'en'
             FROM unnest($1::uuid[], $4::uuid[]) AS u(i, c)""",
        ids,
        brand,
        inbox,
        [r["id"] for r in contacts],
    )
    await pool.execute(
        """INSERT INTO messages (conversation_id, seq, direction, author_kind, channel, text,
                                 language, sentiment, nlu)
           SELECT i, 1, 'in', 'customer', 'webchat', t, 'en', s,
                  jsonb_build_object('intent', n)
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::real[]) AS u(i, t, n, s)""",
        ids,
        [e.text for e in picked],
        [e.intent for e in picked],
        [rng.choice((0.2, -0.1, -0.7)) for _ in picked],
    )
    return ids


async def measure(dsn: str) -> dict[str, float]:
    pool = await database.create_pool(dsn, min_size=2, max_size=10)
    try:
        await database.migrate(pool)
        answers = BotAnswers(load_project(DEFAULT_NLU_PROJECT))
        started = time.perf_counter()
        brand, agent = await seed(pool, answers, SUGGESTION_MESSAGES)
        seeded = time.perf_counter() - started
        embedder = Embedder(pool, WordLlamaEmbedder())
        await embedder.vector("warm up")  # the vectors load once per process (~1 s)
        started = time.perf_counter()
        embedded = await embedder.embed_pending()
        backfill = time.perf_counter() - started
        assert embedded == SUGGESTION_MESSAGES, embedded
        await pool.execute("ANALYZE")
        opened = await open_conversations(pool, SUGGESTION_QUERIES)
        await embedder.embed_pending()
        suggestions = Suggestions(pool, embedder, answers, -0.35)
        supervisor = Reach(False, (brand,), (), (), agent)
        await suggestions.for_conversation(opened[0], supervisor)  # first query plans
        whole: list[float] = []
        found: list[int] = []
        for conversation in opened:
            began = time.perf_counter()
            answer = await suggestions.for_conversation(conversation, supervisor)
            whole.append((time.perf_counter() - began) * 1000)
            found.append(len(answer["suggestions"]))
        # The parts alone: the query's embedding, and the nearest-replies query.
        embedding: list[float] = []
        nearest: list[float] = []
        for conversation in opened:
            text = await pool.fetchval(
                "SELECT text FROM messages WHERE conversation_id = $1", conversation
            )
            began = time.perf_counter()
            vector = await embedder.vector(text)
            embedding.append((time.perf_counter() - began) * 1000)
            async with pool.acquire() as conn:
                began = time.perf_counter()
                await store.similar_replies(
                    conn, conversation, uuid.UUID(brand), embedder.model, vector, supervisor, 20
                )
                nearest.append((time.perf_counter() - began) * 1000)
        return {
            "seeded": seeded,
            "backfill": backfill,
            "p50": statistics.median(whole),
            "p99": percentile(whole, 0.99),
            "embed_p50": statistics.median(embedding),
            "nearest_p50": statistics.median(nearest),
            "nearest_p99": percentile(nearest, 0.99),
            "three": sum(1 for n in found if n == 3) / len(found),
        }
    finally:
        await pool.close()


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="sbsugg") as tmp:
        embedded = database.EmbeddedPostgres(Path(tmp))
        dsn = embedded.start()
        try:
            f = asyncio.run(measure(dsn))
        finally:
            embedded.stop()
    n = SUGGESTION_MESSAGES
    return "\n".join(
        [
            f"## Suggested replies — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            "",
            f"Command: `make bench` (or `python -m bench.suggestions`). Machine: {machine()}"
            "; embedded PostgreSQL 16 (pgserver, pgvector 0.6.2) on the same box."
            f" {n:,} resolved conversations of one brand (a customer message and an agent's"
            f" reply each: {2 * n:,} messages, {n:,} embeddings of 256 dimensions under an"
            f" HNSW index); {SUGGESTION_QUERIES} open conversations ask one at a time.",
            "",
            "| figure | value |",
            "|---|---:|",
            f"| suggestions for a conversation (the service call), p50 / p99 |"
            f" {f['p50']:.1f} / {f['p99']:.1f} ms |",
            f"| of which: embedding the customer's text, p50 | {f['embed_p50']:.2f} ms |",
            f"| of which: nearest replies (HNSW scan, reach, reply look-up), p50 / p99 |"
            f" {f['nearest_p50']:.1f} / {f['nearest_p99']:.1f} ms |",
            f"| conversations offered three suggestions | {f['three']:.0%} |",
            f"| backfill: embedding {n:,} messages with the index in place |"
            f" {f['backfill']:.0f} s ({n / f['backfill']:,.0f} messages/s) |",
            f"| seeding the conversations (not a product figure) | {f['seeded']:.0f} s |",
            "",
            "Target: p99 ≤ 100 ms on this machine.",
        ]
    )


def main() -> None:
    publish(run(), START, END)


if __name__ == "__main__":
    main()
