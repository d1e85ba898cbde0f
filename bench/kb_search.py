"""The knowledge base's search cost (issue 18): hybrid search p50 / p99 over 1,000, 10,000 and
100,000 chunks of one brand and language, the HNSW index's recall@10 against an exact scan of
the same vectors, and import throughput (articles saved per second through the service:
chunking, embedding, the article, its version and its chunks).

The chunks are synthetic: sentences drawn from the labelled set's English articles
(tests/server/services/kb_labelled), shuffled into paragraphs, embedded with the WordLlama
vectors search uses, so the vectors cluster as real ones do (uniform random vectors would
make HNSW look worse than it is). The questions are the labelled set's English questions.

Run alone: ``python -m bench.kb_search``; it prints a Markdown block (the lead copies it to
bench/RESULTS.md). BENCH_KB_CHUNKS (default 1000,10000,100000) and BENCH_SIZE=smoke.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.report import machine
from bench.sizes import SMOKE
from server.services import demo
from server.services.embedder import WordLlamaEmbedder
from server.services.kb import Author, KnowledgeBase
from server.store import Pool, database
from server.store import kb as store
from server.store.kb import Draft

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "tests" / "server" / "services" / "kb_labelled"
SIZES = [
    int(n)
    for n in os.environ.get("BENCH_KB_CHUNKS", "200" if SMOKE else "1000,10000,100000").split(",")
]
IMPORTED = 20 if SMOKE else 300
CHUNKS_PER_ARTICLE = 5


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def corpus() -> tuple[list[str], list[str]]:
    """The English articles' sentences, and the English questions."""
    articles = json.loads((LABELLED / "articles.json").read_text())["articles"]
    sentences = [
        s.strip() + "."
        for a in articles
        if a["language"] == "en"
        for s in a["body"].replace("\n", " ").replace("#", "").split(".")
        if len(s.strip()) > 10
    ]
    questions = json.loads((LABELLED / "questions.json").read_text())["questions"]
    return sentences, [q["question"] for q in questions if q["language"] == "en"]


async def fill(pool: Pool, brand_id: object, chunks: int, sentences: list[str]) -> float:
    """``chunks`` synthetic chunks under articles of five; returns the index build's seconds."""
    rng = random.Random(chunks)
    texts = [" ".join(rng.sample(sentences, 4)) for _ in range(chunks)]
    vectors = WordLlamaEmbedder().embed(texts)
    articles = (chunks + CHUNKS_PER_ARTICLE - 1) // CHUNKS_PER_ARTICLE
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM kb_articles")
        await conn.execute("DROP INDEX IF EXISTS kb_chunks_nearest")
        ids = await conn.fetch(
            """INSERT INTO kb_articles (brand_id, language, slug, title, body, status)
               SELECT $1, 'en', 'synthetic-' || n, 'Synthetic article ' || n, '', 'published'
                 FROM generate_series(1, $2) AS n RETURNING id""",
            brand_id,
            articles,
        )
        records = [
            (
                ids[i // CHUNKS_PER_ARTICLE]["id"],
                brand_id,
                "en",
                i % CHUNKS_PER_ARTICLE,
                f"Synthetic article {i // CHUNKS_PER_ARTICLE}",
                "",
                texts[i],
                WordLlamaEmbedder.model,
                vectors[i],
            )
            for i in range(chunks)
        ]
        # asyncpg's COPY has no binary encoder for regconfig: the bench's own database
        # takes 'english' as the column's default instead.
        await conn.execute("ALTER TABLE kb_chunks ALTER COLUMN config SET DEFAULT 'english'")
        await conn.copy_records_to_table(
            "kb_chunks",
            records=records,
            columns=[
                "article_id", "brand_id", "language", "position", "title", "heading", "text",
                "model", "embedding",
            ],
        )  # fmt: skip
        await conn.execute("SET maintenance_work_mem = '256MB'")
        started = time.perf_counter()
        await conn.execute(
            "CREATE INDEX kb_chunks_nearest ON kb_chunks USING hnsw (embedding vector_cosine_ops)"
        )
        built = time.perf_counter() - started
        await conn.execute("ANALYZE kb_chunks")
    return built


async def recall_at_10(pool: Pool, questions: list[str], ef_search: int) -> float:
    """Share of the exact ten nearest chunks the HNSW scan returns, over the questions."""
    vectors = WordLlamaEmbedder().embed(questions)
    found = 0
    async with pool.acquire() as conn:
        for vector in vectors:
            async with conn.transaction():
                await conn.execute(f"SET LOCAL hnsw.ef_search = {ef_search}")
                approx = await conn.fetch(
                    "SELECT id FROM kb_chunks ORDER BY embedding <=> $1 LIMIT 10", vector
                )
            async with conn.transaction():
                await conn.execute("SET LOCAL enable_indexscan = off")
                exact = await conn.fetch(
                    "SELECT id FROM kb_chunks ORDER BY embedding <=> $1 LIMIT 10", vector
                )
            found += len({r["id"] for r in approx} & {r["id"] for r in exact})
    return found / (10 * len(vectors))


async def latency(kb: KnowledgeBase, questions: list[str]) -> tuple[float, float]:
    """p50 and p99 in ms of the whole search call (embedding the question, one query)."""
    await kb.search(demo.BRAND_SLUG, "en", questions[0])  # plans the query, warms the pages
    times = []
    for question in questions:
        started = time.perf_counter()
        await kb.search(demo.BRAND_SLUG, "en", question)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), percentile(times, 0.99)


async def import_rate(kb: KnowledgeBase, sentences: list[str]) -> float:
    """Articles a second through the service (chunking, embedding, writing), one at a time."""
    rng = random.Random(7)
    started = time.perf_counter()
    for n in range(IMPORTED):
        body = "\n\n".join(
            f"## Part {p}\n\n" + " ".join(rng.sample(sentences, 5)) for p in range(3)
        )
        draft = Draft("en", f"imported-{n}", f"Imported article {n}", body, "", [], "published")
        await kb.put(demo.BRAND_SLUG, draft, Author(None, "bench"), f"bench:{n}")
    return IMPORTED / (time.perf_counter() - started)


async def measure(dsn: str) -> list[str]:
    pool = await database.create_pool(dsn, min_size=2, max_size=4)
    try:
        await database.migrate(pool)
        await demo.seed(pool)
        brand_id = await pool.fetchval("SELECT id FROM brands WHERE slug = $1", demo.BRAND_SLUG)
        sentences, questions = corpus()
        kb = KnowledgeBase(pool, WordLlamaEmbedder())
        rows = []
        for size in SIZES:
            built = await fill(pool, brand_id, size, sentences)
            p50, p99 = await latency(kb, questions)
            default_recall = await recall_at_10(pool, questions, 40)
            search_recall = await recall_at_10(pool, questions, store.CANDIDATES)
            rows.append(
                f"| {size:,} | {p50:.1f} / {p99:.1f} ms | {default_recall:.3f} |"
                f" {search_recall:.3f} | {built:.1f} s |"
            )
            print(rows[-1], file=sys.stderr, flush=True)  # progress: the big sizes take minutes
        async with pool.acquire() as conn:
            await conn.execute("DELETE FROM kb_articles")
        rate = await import_rate(kb, sentences)
    finally:
        await pool.close()
    return [
        f"## Knowledge-base search — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"Command: `python -m bench.kb_search`. Machine: {machine()}; embedded PostgreSQL 16"
        " (pgserver, pgvector 0.6.2). One brand and language; synthetic chunks embedded with"
        f" WordLlama; {len(questions)} English questions of the labelled set, one at a time.",
        "",
        "| chunks | hybrid search p50 / p99 | HNSW recall@10, ef_search 40 |"
        f" recall@10, ef_search {store.CANDIDATES} (search's) | index build |",
        "|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Import through the service: {rate:.1f} articles/s ({IMPORTED} articles of three"
        " sections, one at a time). Targets: p99 ≤ 20 ms at 100,000 chunks; recall@10 ≥ 0.95.",
    ]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sbkb") as tmp:
        embedded = database.EmbeddedPostgres(Path(tmp))
        dsn = embedded.start()
        try:
            lines = asyncio.run(measure(dsn))
        finally:
            embedded.stop()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
