"""The knowledge base's SQL (migration 0023): articles, their versions, their chunks, and the
hybrid search that reads the chunks.

Search asks Postgres once for both candidate lists and their fusion: the chunks whose words
match the question (the GIN index, in the language's configuration; see ``search``) and the
chunks nearest to its vector (the HNSW index, cosine), each reduced to one rank per article
(its best chunk), fused by reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009:
score = Σ w / (k + rank); k and the weights below).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

import asyncpg
import numpy as np
from numpy.typing import NDArray

from server.errors import Conflict
from server.store import kb_feedback
from server.store.views import Conn

Status = Literal["draft", "published"]
Mode = Literal["hybrid", "text", "vector"]
# The fusion's constants, tuned on the labelled set (tests/server/services/kb_labelled,
# test_kb_quality.py; figures in its docstring). RRF's k: the paper's 60 suits lists of
# hundreds of documents; a brand's articles in one language are tens, both lists rank nearly
# all of them, and with k = 60 an article anywhere in both lists beat the first of either.
# k = 2 lets the top ranks decide.
RRF_K = 2
# The vector list is the better one on English questions (WordLlama), the text list on
# French ones; the text list's votes count 0.7 of the vector list's.
TEXT_WEIGHT = 0.7
# Text hits scoring under this share of the best text hit are dropped: a chunk that shares
# one common word with the question ("order", "parcel") is noise, not a candidate.
TEXT_SHARE = 0.7
# Chunks the text list hands to the fusion.
CANDIDATES = 200
# Chunks the vector list hands to the fusion. pgvector 0.6 filters after the HNSW scan (no
# iterative scan before 0.8), so ef_search is raised by the brand's share of the index (see
# ``search``), up to pgvector's MAX_EF_SEARCH, or a brand's chunks among many others' would
# come back fewer than asked.
VECTOR_CANDIDATES = 40
MAX_EF_SEARCH = 1000
# A word found in this many of a brand's chunks in a language is left out of the text list
# (as a stop word is): it barely tells chunks apart, and counting and ranking them all is
# what made the text list slow at 100,000 chunks (bench/kb_search.py).
COMMON = 2000
# The text list ranks the chunks of the question's rarest words until they are in this many
# chunks together (the rarest word always counts): a long question of words each in hundreds
# of chunks ranked them all (16 such words, 43 ms at 10,000 chunks; now about 10 ms). Short
# questions and rare words are far under it: the labelled set's figures are unchanged.
POSTINGS = 6000
# The resolution prior (kb_feedback's docstring) scales relevance by (PRIOR_BASE + prior):
# between 0.5 and 1.5, and 1 for an article never judged, so what the brand learnt reorders
# articles of close relevance (fused scores of adjacent ranks differ by a quarter to a third)
# and never lifts one the question does not match over one it does.
PRIOR_BASE = 0.5
PRIOR = kb_feedback.prior_sql("coalesce(p.resolved, 0)", "coalesce(p.judged, 0)")
# Text-search configuration by language; any other language is split into words unstemmed.
CONFIGS = {"en": "english", "fr": "french"}


def config_of(language: str) -> str:
    return CONFIGS.get(language, "simple")


@dataclass(frozen=True, slots=True)
class Article:
    """An article as stored (its Markdown body, not yet rendered)."""

    id: UUID
    brand_id: UUID
    brand: str  # the brand's slug
    language: str
    slug: str
    title: str
    body: str
    category: str
    tags: list[str]
    status: Status
    version: int
    author_id: UUID | None
    author_name: str
    source: str | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class Draft:
    """What an editor or an import writes: an article's fields."""

    language: str
    slug: str
    title: str
    body: str
    category: str
    tags: list[str]
    status: Status


@dataclass(frozen=True, slots=True)
class Version:
    version: int
    title: str
    body: str
    category: str
    tags: list[str]
    status: Status
    author_id: UUID | None
    author_name: str
    saved_at: datetime


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """A chunk to store, with its vector."""

    position: int
    title: str
    heading: str
    text: str
    embedding: NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class Hit:
    """An article search found: its fused score, its rank in each list (None: not in it),
    and the section that matched best."""

    article: Article
    score: float
    text_rank: int | None
    vector_rank: int | None
    # Cosine similarity of the article's nearest chunk to the question (None: not in the
    # vector list): unlike the ranks, it says how close the best answer is at all.
    similarity: float | None
    heading: str
    passage: str
    # The article's resolution prior in its brand (server/store/kb_feedback.py): 0.5 until
    # customers, agents or ended conversations have said whether it resolved anything.
    prior: float = 0.5


_ARTICLE = """a.id, a.brand_id, b.slug AS brand, a.language, a.slug, a.title, a.body, a.category,
    a.tags, a.status, a.version, a.author_id, a.author_name, a.source, a.created_at,
    a.updated_at, a.published_at"""


def _article(r: asyncpg.Record) -> Article:
    return Article(
        r["id"],
        r["brand_id"],
        r["brand"],
        r["language"],
        r["slug"],
        r["title"],
        r["body"],
        r["category"],
        list(r["tags"]),
        r["status"],
        r["version"],
        r["author_id"],
        r["author_name"],
        r["source"],
        r["created_at"],
        r["updated_at"],
        r["published_at"],
    )


async def brand_id(conn: Conn, slug: str) -> UUID | None:
    found: UUID | None = await conn.fetchval("SELECT id FROM brands WHERE slug = $1", slug)
    return found


async def brand_name(conn: Conn, slug: str) -> str | None:
    found: str | None = await conn.fetchval("SELECT name FROM brands WHERE slug = $1", slug)
    return found


async def article(conn: Conn, article_id: UUID) -> Article | None:
    row = await conn.fetchrow(
        f"SELECT {_ARTICLE} FROM kb_articles a JOIN brands b ON b.id = a.brand_id WHERE a.id = $1",
        article_id,
    )
    return _article(row) if row is not None else None


async def article_by_slug(
    conn: Conn, brand: str, language: str, slug: str, statuses: Sequence[Status]
) -> Article | None:
    row = await conn.fetchrow(
        f"""SELECT {_ARTICLE} FROM kb_articles a JOIN brands b ON b.id = a.brand_id
             WHERE b.slug = $1 AND a.language = $2 AND a.slug = $3 AND a.status = ANY($4)""",
        brand,
        language,
        slug,
        list(statuses),
    )
    return _article(row) if row is not None else None


async def article_by_source(conn: Conn, brand_id: UUID, source: str) -> Article | None:
    row = await conn.fetchrow(
        f"""SELECT {_ARTICLE} FROM kb_articles a JOIN brands b ON b.id = a.brand_id
             WHERE a.brand_id = $1 AND a.source = $2""",
        brand_id,
        source,
    )
    return _article(row) if row is not None else None


async def articles(
    conn: Conn,
    brand_ids: Sequence[UUID] | None,
    *,
    brand: str | None = None,
    language: str | None = None,
    statuses: Sequence[Status] = ("draft", "published"),
    category: str | None = None,
    limit: int = 1000,
) -> list[Article]:
    """Articles of these brands (None: every brand), narrowed to one brand's slug when
    ``brand`` is given; by brand, language, category, then title."""
    rows = await conn.fetch(
        f"""SELECT {_ARTICLE} FROM kb_articles a JOIN brands b ON b.id = a.brand_id
             WHERE ($1::uuid[] IS NULL OR a.brand_id = ANY($1))
               AND ($2::text IS NULL OR b.slug = $2)
               AND ($3::text IS NULL OR a.language = $3)
               AND a.status = ANY($4)
               AND ($5::text IS NULL OR a.category = $5)
             ORDER BY b.slug, a.language, a.category, a.title, a.id LIMIT $6""",
        list(brand_ids) if brand_ids is not None else None,
        brand,
        language,
        list(statuses),
        category,
        limit,
    )
    return [_article(r) for r in rows]


async def languages(conn: Conn, brand: str) -> list[str]:
    """The languages the brand has published articles in."""
    rows = await conn.fetch(
        """SELECT DISTINCT a.language FROM kb_articles a JOIN brands b ON b.id = a.brand_id
            WHERE b.slug = $1 AND a.status = 'published' ORDER BY 1""",
        brand,
    )
    return [r["language"] for r in rows]


async def insert_article(
    conn: Conn,
    brand_id: UUID,
    draft: Draft,
    author_id: UUID | None,
    author_name: str,
    source: str | None,
) -> UUID:
    """A new article at version 1, and that version; the caller's transaction holds both."""
    try:
        article_id: UUID = await conn.fetchval(
            """INSERT INTO kb_articles (brand_id, language, slug, title, body, category, tags,
                                    status, author_id, author_name, source, published_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                   CASE WHEN $8 = 'published' THEN now() END)
           RETURNING id""",
            brand_id,
            draft.language,
            draft.slug,
            draft.title,
            draft.body,
            draft.category,
            draft.tags,
            draft.status,
            author_id,
            author_name,
            source,
        )
    except asyncpg.UniqueViolationError:
        raise _taken(draft) from None
    await _keep_version(conn, article_id)
    return article_id


def _taken(draft: Draft) -> Conflict:
    return Conflict(f"slug: the brand has an article {draft.slug!r} in {draft.language!r} already")


async def update_article(
    conn: Conn, article_id: UUID, draft: Draft, author_id: UUID | None, author_name: str
) -> None:
    """The article's next version; its first publication keeps its date."""
    try:
        await conn.execute(
            """UPDATE kb_articles SET language = $2, slug = $3, title = $4, body = $5,
                  category = $6, tags = $7, status = $8, author_id = $9, author_name = $10,
                  version = version + 1, updated_at = now(),
                  published_at = CASE WHEN $8 = 'published' THEN coalesce(published_at, now())
                                      END
            WHERE id = $1""",
            article_id,
            draft.language,
            draft.slug,
            draft.title,
            draft.body,
            draft.category,
            draft.tags,
            draft.status,
            author_id,
            author_name,
        )
    except asyncpg.UniqueViolationError:
        raise _taken(draft) from None
    await _keep_version(conn, article_id)


async def _keep_version(conn: Conn, article_id: UUID) -> None:
    await conn.execute(
        """INSERT INTO kb_article_versions (article_id, version, title, body, category, tags,
                                            status, author_id, author_name, saved_at)
           SELECT id, version, title, body, category, tags, status, author_id, author_name,
                  updated_at
             FROM kb_articles WHERE id = $1""",
        article_id,
    )


async def versions(conn: Conn, article_id: UUID) -> list[Version]:
    """The article's saved versions, newest first."""
    rows = await conn.fetch(
        """SELECT version, title, body, category, tags, status, author_id, author_name, saved_at
             FROM kb_article_versions WHERE article_id = $1 ORDER BY version DESC""",
        article_id,
    )
    return [
        Version(
            r["version"],
            r["title"],
            r["body"],
            r["category"],
            list(r["tags"]),
            r["status"],
            r["author_id"],
            r["author_name"],
            r["saved_at"],
        )
        for r in rows
    ]


async def delete_article(conn: Conn, article_id: UUID) -> bool:
    deleted = await conn.fetchval("DELETE FROM kb_articles WHERE id = $1 RETURNING 1", article_id)
    return deleted is not None


async def replace_chunks(
    conn: Conn, article_id: UUID, model: str, chunks: Sequence[ChunkRow]
) -> None:
    """The article's chunks, all new: its brand, language and configuration come from the
    article row as it stands in the caller's transaction."""
    await conn.execute("DELETE FROM kb_chunks WHERE article_id = $1", article_id)
    await conn.execute(
        """INSERT INTO kb_chunks (article_id, brand_id, language, position, title, heading,
                                  text, config, model, embedding)
           SELECT a.id, a.brand_id, a.language, u.position, u.title, u.heading, u.text,
                  (CASE a.language WHEN 'en' THEN 'english' WHEN 'fr' THEN 'french'
                                   ELSE 'simple' END)::regconfig,
                  $2, u.embedding::vector
             FROM kb_articles a,
                  unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[])
                  AS u(position, title, heading, text, embedding)
            WHERE a.id = $1""",
        article_id,
        model,
        [c.position for c in chunks],
        [c.title for c in chunks],
        [c.heading for c in chunks],
        [c.text for c in chunks],
        # As text: the pgvector codec encodes one vector, not an array of them.
        [_literal(c.embedding) for c in chunks],
    )


def _literal(vector: NDArray[np.float32]) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"


async def search(
    conn: Conn,
    *,
    brand: str,
    language: str,
    statuses: Sequence[Status],
    query: str,
    vector: NDArray[np.float32],
    model: str,
    limit: int,
    mode: Mode = "hybrid",
) -> list[Hit]:
    """The articles of the brand in the language that best answer ``query``, best first.

    The text list scores the chunks that share any of the question's lexemes (a question
    rarely shares every word with its answer) by the sum, over the lexemes they share, of
    the lexeme's rarity in the brand's chunks in that language (BM25's idf, from the counts
    kb_lexemes keeps: migration 0029) times 1 + its ts_rank (title A, heading B, text D):
    ts_rank alone has no idea that "parcel" is in every article. The vector list is the
    nearest chunks. Each list keeps an article's best chunk; ``mode`` keeps one list alone
    (for measuring)."""
    text_on = mode in ("hybrid", "text")
    vector_on = mode in ("hybrid", "vector")
    async with conn.transaction():
        # SET LOCAL lasts until the transaction ends: the pool's connection goes back as it
        # came.
        # The HNSW scan's breadth, from the brand's share of the index (kb_chunk_counts):
        # pgvector 0.6 filters after the scan, so a brand holding a tenth of the chunks needs
        # ten times VECTOR_CANDIDATES scanned to keep that many; a brand alone in the index
        # needs no more than it keeps, and scanning five times that was most of the vector
        # list's cost at 100,000 chunks (bench/kb_search.py).
        await conn.execute(
            # A brand with no chunks in the language has nothing to find: no wide scan.
            f"""SELECT set_config('hnsw.ef_search', least({MAX_EF_SEARCH},
                       ceil({VECTOR_CANDIDATES} * greatest(1, s.total)
                            / greatest(1, coalesce(nullif(s.mine, 0), s.total))))::int::text,
                       true)
                  FROM (SELECT coalesce(sum(k.chunks), 0) AS total,
                               coalesce(sum(k.chunks) FILTER (
                                   WHERE k.brand_id = (SELECT id FROM brands WHERE slug = $1)
                                     AND k.language = $2), 0) AS mine
                          FROM kb_chunk_counts k) s""",
            brand,
            language,
        )
        rows = await conn.fetch(
            f"""WITH brand AS MATERIALIZED (SELECT id FROM brands WHERE slug = $1),
               question AS MATERIALIZED (
                   SELECT DISTINCT lexeme FROM unnest(to_tsvector($4::regconfig, $5))),
               -- Each word with its rarity, from the counts the triggers of migration 0029
               -- keep: subqueries, so each is one look-up by key whatever the planner
               -- estimates (as a join, it read the brand's whole vocabulary).
               terms AS MATERIALIZED (
                   SELECT quote_literal(w.lexeme)::tsquery AS term,
                          ln(1 + (w.chunks - w.df + 0.5) / (w.df + 0.5)) AS idf
                     FROM (SELECT d.*, sum(d.df) OVER (ORDER BY d.df, d.lexeme) AS postings
                             FROM (SELECT q.lexeme,
                                          (SELECT k.chunks FROM kb_lexemes k
                                            WHERE k.brand_id = (SELECT id FROM brand)
                                              AND k.language = $2
                                              AND k.lexeme = q.lexeme) AS df,
                                          (SELECT k.chunks FROM kb_chunk_counts k
                                            WHERE k.brand_id = (SELECT id FROM brand)
                                              AND k.language = $2) AS chunks
                                     FROM question q) d
                            -- A word in COMMON chunks or more says next to nothing about
                            -- which one answers, and ranking every chunk it is in is most
                            -- of the cost.
                            WHERE $8 AND d.df < {COMMON}) w
                    -- The rarest words first, until they are in POSTINGS chunks together:
                    -- the commoner words of a long question are left out too.
                    WHERE w.postings <= {POSTINGS} OR w.postings = w.df),
               -- Drafts' chunks are dropped after the LIMIT, as in the vector list: checking
               -- each matching chunk's article cost more than the ranking.
               text_hits AS MATERIALIZED (
                   SELECT c.article_id, c.id AS chunk_id,
                          sum(t.idf * (1 + ts_rank(c.words, t.term))) AS score
                     FROM terms t JOIN kb_chunks c ON c.words @@ t.term
                    WHERE c.brand_id = (SELECT id FROM brand) AND c.language = $2
                    GROUP BY c.article_id, c.id
                    ORDER BY score DESC LIMIT {CANDIDATES}),
               text_ranked AS (
                   SELECT DISTINCT ON (h.article_id) h.article_id, h.chunk_id, h.score
                     FROM text_hits h
                    WHERE (SELECT a.status FROM kb_articles a WHERE a.id = h.article_id)
                          = ANY($3)
                    ORDER BY h.article_id, h.score DESC),
               text_list AS (
                   SELECT article_id, chunk_id,
                          row_number() OVER (ORDER BY score DESC, chunk_id) AS rank
                     FROM text_ranked
                    -- the share applies to the fusion; the text list alone keeps every hit
                    WHERE NOT $9 OR score >= {TEXT_SHARE} * (SELECT max(score) FROM text_ranked)),
               -- Filtered on the chunk's own columns, so the HNSW index can serve the
               -- ORDER BY ... LIMIT; drafts' chunks are dropped after it, by their article
               -- (a look-up each: reading the brand's every article id cost more).
               vector_hits AS MATERIALIZED (
                   SELECT c.article_id, c.id AS chunk_id, c.embedding <=> $6 AS distance
                     FROM kb_chunks c
                    WHERE $9 AND c.brand_id = (SELECT id FROM brand) AND c.language = $2
                      AND c.model = $7
                    ORDER BY c.embedding <=> $6 LIMIT {VECTOR_CANDIDATES}),
               vector_ranked AS (
                   SELECT DISTINCT ON (h.article_id) h.article_id, h.chunk_id, h.distance
                     FROM vector_hits h
                    -- a subplan run per hit: a join let the planner read every article
                    WHERE (SELECT a.status FROM kb_articles a WHERE a.id = h.article_id)
                          = ANY($3)
                    ORDER BY h.article_id, h.distance),
               vector_list AS (
                   SELECT article_id, chunk_id, distance,
                          row_number() OVER (ORDER BY distance, chunk_id) AS rank
                     FROM vector_ranked),
               fused AS (
                   SELECT coalesce(t.article_id, v.article_id) AS article_id,
                          coalesce({TEXT_WEIGHT} / ({RRF_K} + t.rank), 0)
                            + coalesce(1.0 / ({RRF_K} + v.rank), 0) AS score,
                          t.rank AS text_rank, v.rank AS vector_rank,
                          1 - v.distance AS similarity,
                          coalesce(t.chunk_id, v.chunk_id) AS chunk_id
                     FROM text_list t FULL JOIN vector_list v ON v.article_id = t.article_id),
               -- What the brand learnt of these articles: their verdicts, for the prior.
               verdicts AS (
                   SELECT o.article_id, count(*) FILTER (WHERE o.outcome = 'resolved') AS resolved,
                          count(*) AS judged
                     FROM kb_article_outcomes o
                    WHERE o.brand_id = (SELECT id FROM brand)
                      AND o.article_id IN (SELECT article_id FROM fused)
                    GROUP BY o.article_id),
               ranked AS (
                   SELECT f.*, {PRIOR} AS prior
                     FROM fused f LEFT JOIN verdicts p ON p.article_id = f.article_id),
               -- The best ``limit`` first; only their passages are read (chunks are wide
               -- rows: their vectors).
               best AS (
                   SELECT {_ARTICLE}, f.score * ({PRIOR_BASE} + f.prior) AS score, f.text_rank,
                          f.vector_rank, f.similarity, f.chunk_id, f.prior
                     FROM ranked f
                     JOIN kb_articles a ON a.id = f.article_id
                     JOIN brands b ON b.id = a.brand_id
                    ORDER BY score DESC, f.text_rank NULLS LAST, a.title
                    LIMIT $10)
               SELECT f.*, c.heading, c.text AS passage
                 FROM best f JOIN kb_chunks c ON c.id = f.chunk_id
                ORDER BY f.score DESC, f.text_rank NULLS LAST, f.title""",
            brand,
            language,
            list(statuses),
            config_of(language),
            query,
            vector,
            model,
            text_on,
            vector_on,
            limit,
        )
    return [
        Hit(
            _article(r),
            float(r["score"]),
            r["text_rank"],
            r["vector_rank"],
            r["similarity"],
            r["heading"],
            r["passage"],
            float(r["prior"]),
        )
        for r in rows
    ]
