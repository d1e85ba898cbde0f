"""The knowledge base's search cost (issue 18): hybrid search p50 / p99 over 1,000, 10,000 and
100,000 chunks of one brand and language, the HNSW index's recall@10 against an exact scan of
the same vectors, and import throughput (articles saved per second through the service:
chunking, embedding, the article, its version and its chunks).

The chunks are synthetic: sentences drawn from the labelled set's English articles
(tests/server/services/kb_labelled), shuffled into paragraphs, embedded with the WordLlama
vectors search uses, so the vectors cluster as real ones do (uniform random vectors would
make HNSW look worse than it is). The questions are the labelled set's English questions.

`make bench` runs it (``BENCH_ONLY=kb make bench`` alone) and writes its block into
bench/RESULTS.md; ``python -m bench.kb_search`` only prints it. Each step says what it is
doing on stderr as it goes (the 100,000-chunk index takes about a minute to build, and says
so every 15 s meanwhile). About 4 minutes on 2 shared cores. BENCH_KB_CHUNKS (default
1000,10000,100000) and BENCH_SIZE=smoke.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from bench.report import machine, publish
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
START, END = "<!-- kb:start -->", "<!-- kb:end -->"
# The targets.
TARGET_P99_MS, TARGET_AT = 20.0, 100_000
TARGET_RECALL = 0.95


def say(text: str) -> None:
    """Progress, on stderr, so the figures on stdout stay a clean block."""
    print(f"kb_search: {text}", file=sys.stderr, flush=True)


@contextlib.asynccontextmanager
async def ticking(what: str, every: float = 15.0) -> AsyncIterator[None]:
    """Says ``what`` is still running every ``every`` seconds while the block runs (one SQL
    statement, such as an index build, can take a minute)."""
    started = time.perf_counter()

    async def tick() -> None:
        while True:
            await asyncio.sleep(every)
            say(f"{what}: still running ({time.perf_counter() - started:.0f} s)")

    ticker = asyncio.create_task(tick())
    try:
        yield
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker


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
    say(f"{chunks:,} chunks: embedding them")
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
        say(f"{chunks:,} chunks: writing them (the triggers count their words)")
        async with ticking("writing the chunks"):
            await conn.copy_records_to_table(
            "kb_chunks",
                records=records,
                columns=[
                    "article_id", "brand_id", "language", "position", "title", "heading",
                    "text", "model", "embedding",
                ],
            )  # fmt: skip
        await conn.execute("SET maintenance_work_mem = '256MB'")
        say(f"{chunks:,} chunks: building the HNSW index")
        started = time.perf_counter()
        async with ticking("building the HNSW index"):
            await conn.execute(
                "CREATE INDEX kb_chunks_nearest ON kb_chunks"
                " USING hnsw (embedding vector_cosine_ops)"
            )
        built = time.perf_counter() - started
        # As autovacuum would before long: the planner's estimates of the tables just filled.
        await conn.execute("ANALYZE kb_chunks, kb_articles, kb_lexemes, kb_chunk_counts")
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


async def latency(
    kb: KnowledgeBase, questions: list[str], mode: store.Mode = "hybrid"
) -> tuple[float, float]:
    """p50 and p99 in ms of the whole search call (embedding the question, one query)."""
    await kb.search(demo.BRAND_SLUG, "en", questions[0], mode=mode)  # plans, warms the pages
    times = []
    for question in questions:
        started = time.perf_counter()
        await kb.search(demo.BRAND_SLUG, "en", question, mode=mode)
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
        verdicts = []
        for size in SIZES:
            built = await fill(pool, brand_id, size, sentences)
            say(f"{size:,} chunks: {len(questions)} searches, hybrid then each list alone")
            p50, p99 = await latency(kb, questions)
            text_p50, _ = await latency(kb, questions, "text")
            vector_p50, _ = await latency(kb, questions, "vector")
            say(f"{size:,} chunks: recall@10 of the HNSW scan against an exact scan")
            # The brand holds every chunk here, so search scans VECTOR_CANDIDATES wide
            # (server/store/kb.py); 200 is what it scanned before it read the brand's share.
            search_recall = await recall_at_10(pool, questions, store.VECTOR_CANDIDATES)
            wide_recall = await recall_at_10(pool, questions, 200)
            rows.append(
                f"| {size:,} | {p50:.1f} / {p99:.1f} ms | {text_p50:.1f} / {vector_p50:.1f} ms"
                f" | {search_recall:.3f} | {wide_recall:.3f} | {built:.1f} s |"
            )
            say(f"done: {rows[-1]}")
            if size == TARGET_AT:
                verdicts.append(
                    f"p99 {p99:.1f} ms at {size:,} chunks against ≤ {TARGET_P99_MS:g} ms:"
                    f" {'met' if p99 <= TARGET_P99_MS else 'not met'}"
                )
            verdicts.append(
                f"recall@10 {search_recall:.3f} at {size:,} chunks against ≥ {TARGET_RECALL}:"
                f" {'met' if search_recall >= TARGET_RECALL else 'not met'}"
            )
        async with pool.acquire() as conn:
            await conn.execute("DELETE FROM kb_articles")
        say(f"import: {IMPORTED} articles through the service")
        rate = await import_rate(kb, sentences)
    finally:
        await pool.close()
    load = os.getloadavg()
    return [
        f"## Knowledge-base search — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"Command: `make bench` (or `python -m bench.kb_search`). Machine: {machine()};"
        f" load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end; embedded"
        " PostgreSQL 16 (pgserver, pgvector 0.6.2). One brand and language; synthetic chunks"
        f" embedded with WordLlama; {len(questions)} English questions of the labelled set,"
        " one at a time; times are the whole search call (embedding the question, one query).",
        "",
        "| chunks | hybrid search p50 / p99 | text list / vector list alone, p50 |"
        f" HNSW recall@10, ef_search {store.VECTOR_CANDIDATES} (search's here) |"
        " recall@10, ef_search 200 | index build |",
        "|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Import through the service: {rate:.1f} articles/s ({IMPORTED} articles of three"
        " sections, one at a time).",
        "",
        f"Targets: p99 ≤ {TARGET_P99_MS:g} ms at {TARGET_AT:,} chunks; recall@10 ≥"
        f" {TARGET_RECALL}. " + "; ".join(verdicts) + ".",
    ]


def main(*, write: bool = False) -> None:
    """Measure, print the block, and with ``write`` (``make bench``) put it in
    bench/RESULTS.md."""
    with tempfile.TemporaryDirectory(prefix="sbkb") as tmp:
        embedded = database.EmbeddedPostgres(Path(tmp))
        dsn = embedded.start()
        try:
            lines = asyncio.run(measure(dsn))
        finally:
            embedded.stop()
    if write:
        publish("\n".join(lines), START, END)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
