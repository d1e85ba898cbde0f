"""The knowledge base: articles written, versioned, published and found.

Every save writes a new version (the article row and a copy of it in kb_article_versions)
and the article's chunks with their vectors, in one transaction: search never sees an
article whose chunks belong to its previous text. The vectors are computed before the
transaction opens (in a thread: it is CPU work), so no connection waits on them.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from uuid import UUID

from routing.knowledge import Found
from server.errors import InvalidInput, NotFound
from server.services import kb_markdown
from server.services.embedder import TextEmbedder
from server.store import Conn, Pool, audit
from server.store import kb as store
from server.store.kb import Article, Draft, Hit, Mode, Status, Version

LANGUAGE = re.compile(r"^[a-z]{2,3}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
TAG = re.compile(r"^[\w][\w .:+-]{0,49}$")
MAX_TITLE = 300
MAX_BODY = 200_000
MAX_CATEGORY = 100
MAX_TAGS = 20
MAX_QUERY = 500
MAX_RESULTS = 20
# The excerpt under an article the bot shows: a line or two on a phone.
EXCERPT = 160


@dataclass(frozen=True, slots=True)
class Author:
    """Who saves a version: a console user (their id), or a name alone (an import)."""

    id: UUID | None
    name: str
    # How the audit log names them (a console user's email); the name when not given.
    label: str = ""


async def _audited(conn: Conn, action: str, article: Article, author: Author) -> None:
    """The audit log's entry for a change of an article, in the change's transaction."""
    await audit.record(
        conn,
        action=action,
        actor_id=str(author.id) if author.id else None,
        actor_label=author.label or author.name,
        brand_id=str(article.brand_id),
        target_kind="kb_article",
        target_id=str(article.id),
        detail={
            "title": article.title,
            "language": article.language,
            "slug": article.slug,
            "version": article.version,
            "status": article.status,
        },
    )


def slugify(title: str) -> str:
    """A slug from a title: accents dropped, lowercase words joined by '-' ("Où est ma
    commande ?" is "ou-est-ma-commande")."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    return "-".join(words)[:100].strip("-") or "article"


def checked(draft: Draft) -> Draft:
    """The draft with its text trimmed and its slug filled in from the title, or
    InvalidInput naming the field at fault."""
    title = " ".join(draft.title.split())
    if not 1 <= len(title) <= MAX_TITLE:
        raise InvalidInput(f"title: 1 to {MAX_TITLE} characters")
    if len(draft.body) > MAX_BODY:
        raise InvalidInput(f"body: at most {MAX_BODY} characters")
    if not LANGUAGE.match(draft.language):
        raise InvalidInput("language: a two- or three-letter ISO 639 code, lowercase (en, fr)")
    slug = draft.slug.strip() or slugify(title)
    if not SLUG.match(slug):
        raise InvalidInput("slug: lowercase letters, digits and '-', at most 100")
    category = " ".join(draft.category.split())
    if len(category) > MAX_CATEGORY:
        raise InvalidInput(f"category: at most {MAX_CATEGORY} characters")
    tags: list[str] = []
    for tag in draft.tags:
        clean = " ".join(tag.split()).lower()
        if not TAG.match(clean):
            raise InvalidInput(f"tags: {tag!r} is not a tag (letters, digits, at most 50)")
        if clean not in tags:
            tags.append(clean)
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"tags: at most {MAX_TAGS}")
    if any("\x00" in s for s in (title, draft.body, category, *tags)):
        raise InvalidInput("text may not contain the NUL character (U+0000)")
    return replace(draft, title=title, slug=slug, category=category, tags=tags)


class KnowledgeBase:
    """Articles and search over them, for the console, the help center, the public search
    API and the import command."""

    def __init__(self, pool: Pool, embedder: TextEmbedder) -> None:
        self._pool = pool
        self._embedder = embedder

    @property
    def model(self) -> str:
        return self._embedder.model

    async def create(
        self, brand: str, draft: Draft, author: Author, *, source: str | None = None
    ) -> Article:
        """A new article (version 1), or Conflict when the brand has that slug in that
        language already; NotFound for a brand that does not exist."""
        draft = checked(draft)
        chunks = await self._chunk_rows(draft)
        async with self._pool.acquire() as conn, conn.transaction():
            brand_id = await store.brand_id(conn, brand)
            if brand_id is None:
                raise NotFound(f"brand: no brand {brand!r}")
            article_id = await store.insert_article(
                conn, brand_id, draft, author.id, author.name, source
            )
            await store.replace_chunks(conn, article_id, self.model, chunks)
            saved = await store.article(conn, article_id)
            assert saved is not None
            await _audited(conn, "kb.article_created", saved, author)
        return saved

    async def update(
        self, article_id: UUID, draft: Draft, author: Author, *, action: str = "kb.article_saved"
    ) -> Article:
        """The article's next version (the previous one stays in its versions)."""
        draft = checked(draft)
        chunks = await self._chunk_rows(draft)
        async with self._pool.acquire() as conn, conn.transaction():
            if await store.article(conn, article_id) is None:
                raise NotFound("no such article")
            await store.update_article(conn, article_id, draft, author.id, author.name)
            await store.replace_chunks(conn, article_id, self.model, chunks)
            saved = await store.article(conn, article_id)
            assert saved is not None
            await _audited(conn, action, saved, author)
        return saved

    async def put(
        self, brand: str, draft: Draft, author: Author, source: str
    ) -> tuple[Article, bool]:
        """An imported article: created, or its earlier import (same brand and source, or
        else the same language and slug) updated when anything changed. Returns it and
        whether it was written."""
        draft = checked(draft)
        async with self._pool.acquire() as conn:
            brand_id = await store.brand_id(conn, brand)
            if brand_id is None:
                raise NotFound(f"brand: no brand {brand!r}")
            earlier = await store.article_by_source(conn, brand_id, source)
            if earlier is None:
                # An export of this server read back (or files renamed): the same address.
                earlier = await store.article_by_slug(
                    conn, brand, draft.language, draft.slug, ("draft", "published")
                )
        if earlier is None:
            return await self.create(brand, draft, author, source=source), True
        if _same(earlier, draft):
            return earlier, False
        return await self.update(earlier.id, draft, author), True

    async def set_status(self, article_id: UUID, status: Status, author: Author) -> Article:
        """Publish or withdraw (back to draft): a new version with the same text."""
        current = await self.get(article_id)
        draft = Draft(
            current.language,
            current.slug,
            current.title,
            current.body,
            current.category,
            current.tags,
            status,
        )
        action = "kb.article_published" if status == "published" else "kb.article_unpublished"
        return await self.update(article_id, draft, author, action=action)

    async def get(self, article_id: UUID) -> Article:
        async with self._pool.acquire() as conn:
            found = await store.article(conn, article_id)
        if found is None:
            raise NotFound("no such article")
        return found

    async def by_source(self, brand: str, source: str) -> Article | None:
        """The article an earlier import of ``source`` made in the brand, if any."""
        async with self._pool.acquire() as conn:
            brand_id = await store.brand_id(conn, brand)
            if brand_id is None:
                return None
            return await store.article_by_source(conn, brand_id, source)

    async def by_slug(
        self, brand: str, language: str, slug: str, statuses: Sequence[Status] = ("published",)
    ) -> Article | None:
        async with self._pool.acquire() as conn:
            return await store.article_by_slug(conn, brand, language, slug, statuses)

    async def articles(
        self,
        brand_ids: Sequence[UUID] | None,
        *,
        brand: str | None = None,
        language: str | None = None,
        statuses: Sequence[Status] = ("draft", "published"),
        category: str | None = None,
    ) -> list[Article]:
        """Articles of these brands (None: all), or of the one named ``brand`` among them."""
        async with self._pool.acquire() as conn:
            return await store.articles(
                conn,
                brand_ids,
                brand=brand,
                language=language,
                statuses=statuses,
                category=category,
            )

    async def languages(self, brand: str) -> list[str]:
        async with self._pool.acquire() as conn:
            return await store.languages(conn, brand)

    async def brand_id(self, brand: str) -> UUID | None:
        """The brand's id by its slug, or None when there is no such brand."""
        async with self._pool.acquire() as conn:
            return await store.brand_id(conn, brand)

    async def brand_name(self, brand: str) -> str | None:
        """The brand's name for people (its help center's title), or None."""
        async with self._pool.acquire() as conn:
            return await store.brand_name(conn, brand)

    async def versions(self, article_id: UUID) -> list[Version]:
        async with self._pool.acquire() as conn:
            return await store.versions(conn, article_id)

    async def delete(self, article_id: UUID, author: Author) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            article = await store.article(conn, article_id)
            if article is None or not await store.delete_article(conn, article_id):
                raise NotFound("no such article")
            await _audited(conn, "kb.article_deleted", article, author)

    async def search(
        self,
        brand: str,
        language: str,
        query: str,
        *,
        limit: int = 3,
        statuses: Sequence[Status] = ("published",),
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        """The articles that best answer ``query``, best first (none for a blank query)."""
        query = " ".join(query.split())[:MAX_QUERY]
        if not query:
            return []
        vectors = await asyncio.to_thread(self._embedder.embed, [query])
        async with self._pool.acquire() as conn:
            return await store.search(
                conn,
                brand=brand,
                language=language,
                statuses=statuses,
                query=query,
                vector=vectors[0],
                model=self.model,
                limit=min(limit, MAX_RESULTS),
                mode=mode,
            )

    async def answers(self, brand: str, language: str, question: str, *, limit: int) -> list[Found]:
        """The published articles that best answer a customer's question, as the bot shows
        them (the pipeline's ``ArticleSearch`` port): title, help center path, a short
        excerpt of the section that matched, and how close it is."""
        hits = await self.search(brand, language, question, limit=limit)
        return [
            Found(
                article_id=str(h.article.id),
                title=h.article.title,
                url=f"/help/{h.article.brand}/{h.article.language}/{h.article.slug}",
                excerpt=kb_markdown.excerpt(h.passage or h.article.body, EXCERPT),
                similarity=h.similarity,
            )
            for h in hits
        ]

    async def _chunk_rows(self, draft: Draft) -> list[store.ChunkRow]:
        chunks = kb_markdown.chunks_or_title(draft.body)
        # The title goes in front of each chunk's text: a section's vector alone may not
        # say what it is about ("Within 30 days" under "Returns").
        texts = [f"{draft.title}\n{c.heading}\n{c.text}" for c in chunks]
        vectors = await asyncio.to_thread(self._embedder.embed, texts)
        return [
            store.ChunkRow(c.position, draft.title, c.heading, c.text, vectors[i])
            for i, c in enumerate(chunks)
        ]


def _same(article: Article, draft: Draft) -> bool:
    return (
        article.language,
        article.slug,
        article.title,
        article.body,
        article.category,
        article.tags,
        article.status,
    ) == (
        draft.language,
        draft.slug,
        draft.title,
        draft.body,
        draft.category,
        draft.tags,
        draft.status,
    )
