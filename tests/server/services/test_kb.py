"""The knowledge base over a real Postgres: versions with their authors, chunks in the
language's text-search configuration, and search scoped to brand, language and status."""

from __future__ import annotations

import asyncpg
import pytest

from server.errors import Conflict, InvalidInput, NotFound
from server.services import demo
from server.services.embedder import WordLlamaEmbedder
from server.services.kb import Author, KnowledgeBase, slugify
from server.store.kb import Draft

DANA = Author(None, "Dana")
SAM = Author(None, "Sam")

RETURNS = Draft(
    "en",
    "",
    "Returning an item",
    "You can return any item within 30 days.\n\n## How\n\nPrint the label from your account "
    "and drop the parcel at a post office.",
    "Returns",
    ["returns", "Refunds"],
    "published",
)


def kb(pool: asyncpg.Pool) -> KnowledgeBase:
    return KnowledgeBase(pool, WordLlamaEmbedder())


async def test_each_save_is_a_version_with_its_author(pool: asyncpg.Pool) -> None:
    base = kb(pool)
    first = await base.create(demo.BRAND_SLUG, RETURNS, DANA)
    assert (first.slug, first.version, first.tags) == (
        "returning-an-item",
        1,
        ["returns", "refunds"],
    )
    assert first.published_at is not None
    changed = Draft("en", "", "Returning an item", "Within 60 days now.", "Returns", [], "draft")
    second = await base.update(first.id, changed, SAM)
    assert (second.version, second.status, second.author_name) == (2, "draft", "Sam")
    assert second.published_at is None
    history = await base.versions(first.id)
    assert [(v.version, v.author_name, v.status) for v in history] == [
        (2, "Sam", "draft"),
        (1, "Dana", "published"),
    ]
    assert history[1].body == RETURNS.body


async def test_a_slug_taken_in_the_brand_and_language_is_a_conflict(pool: asyncpg.Pool) -> None:
    base = kb(pool)
    await base.create(demo.BRAND_SLUG, RETURNS, DANA)
    with pytest.raises(Conflict, match="slug"):
        await base.create(demo.BRAND_SLUG, RETURNS, DANA)
    # Another language, or another brand, may use it.
    await base.create(
        demo.BRAND_SLUG, Draft("fr", "returning-an-item", "Retours", "", "", [], "draft"), DANA
    )
    await demo.seed_other_brand(pool)
    await base.create(demo.OTHER_BRAND_SLUG, RETURNS, DANA)
    with pytest.raises(NotFound, match="brand"):
        await base.create("no-such-brand", RETURNS, DANA)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", " "),
        ("language", "English"),
        ("slug", "Bad Slug"),
        ("tags", ["<b>"]),
        ("body", "a\x00"),
    ],
)
async def test_bad_fields_are_refused_by_name(
    pool: asyncpg.Pool, field: str, value: object
) -> None:
    draft = Draft(**{**_fields(RETURNS), field: value})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=field if field != "body" else "NUL"):
        await kb(pool).create(demo.BRAND_SLUG, draft, DANA)


def _fields(draft: Draft) -> dict[str, object]:
    return {name: getattr(draft, name) for name in Draft.__dataclass_fields__}


async def test_chunks_are_stemmed_in_the_article_language(pool: asyncpg.Pool) -> None:
    base = kb(pool)
    french = Draft(
        "fr", "", "Retourner un article", "Les retours sont gratuits.", "", [], "published"
    )
    article = await base.create(demo.BRAND_SLUG, french, DANA)
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            """SELECT config::text AS config, words::text AS words FROM kb_chunks
                WHERE article_id = $1""",
            article.id,
        )
    assert row is not None
    assert row["config"] == "french"
    assert "'retour'" in row["words"]
    assert "'gratuit'" in row["words"]


async def test_search_finds_only_published_articles_of_the_brand_and_language(
    pool: asyncpg.Pool,
) -> None:
    base = kb(pool)
    await demo.seed_other_brand(pool)
    returns = await base.create(demo.BRAND_SLUG, RETURNS, DANA)
    delivery = Draft(
        "en",
        "",
        "Delivery times",
        "Parcels arrive in two to four working days.",
        "Delivery",
        [],
        "published",
    )
    await base.create(demo.BRAND_SLUG, delivery, DANA)
    draft = Draft(
        "en",
        "",
        "Returns for damaged goods",
        "Send us a photo of the damage.",
        "Returns",
        [],
        "draft",
    )
    hidden = await base.create(demo.BRAND_SLUG, draft, DANA)
    other = await base.create(demo.OTHER_BRAND_SLUG, RETURNS, DANA)
    french = Draft("fr", "", "Retourner un article", "Retour sous 30 jours.", "", [], "published")
    await base.create(demo.BRAND_SLUG, french, DANA)

    hits = await base.search(demo.BRAND_SLUG, "en", "how do I return my jacket?")
    ids = [h.article.id for h in hits]
    assert ids[0] == returns.id
    assert hidden.id not in ids
    assert other.id not in ids
    assert all(h.article.language == "en" for h in hits)
    assert hits[0].text_rank == 1
    assert hits[0].vector_rank is not None
    # Editors search drafts too.
    with_drafts = await base.search(
        demo.BRAND_SLUG, "en", "damaged goods photo", statuses=("draft", "published")
    )
    assert with_drafts[0].article.id == hidden.id
    assert await base.search(demo.BRAND_SLUG, "en", "   ") == []


async def test_an_import_updates_its_earlier_import_instead_of_duplicating(
    pool: asyncpg.Pool,
) -> None:
    base = kb(pool)
    first, written = await base.put(demo.BRAND_SLUG, RETURNS, DANA, "zendesk:1")
    assert written
    again, written = await base.put(demo.BRAND_SLUG, RETURNS, DANA, "zendesk:1")
    assert (again.id, again.version, written) == (first.id, 1, False)
    changed = Draft(**{**_fields(RETURNS), "body": "Within 60 days."})  # type: ignore[arg-type]
    updated, written = await base.put(demo.BRAND_SLUG, changed, DANA, "zendesk:1")
    assert (updated.id, updated.version, written) == (first.id, 2, True)


def test_slugs_drop_accents_and_punctuation() -> None:
    assert slugify("Où est ma commande ?") == "ou-est-ma-commande"
    assert slugify("!!!") == "article"


async def test_any_question_text_searches_without_error(pool: asyncpg.Pool) -> None:
    base = kb(pool)
    await base.create(demo.BRAND_SLUG, RETURNS, DANA)
    for question in [
        "C:\\orders\\return.pdf",
        "o'brien's parcel",
        "a:b | c & !d <-> (e)",
        "'\"\\\\'",
        "http://x.example/a\\b?q=1&r=2",
        "user\\name@example.com",
        "ça coûte combien ?",
        ":* & |",
    ]:
        for language in ("en", "fr", "de"):
            await base.search(demo.BRAND_SLUG, language, question)


async def test_every_change_of_an_article_is_in_the_audit_log(pool: asyncpg.Pool) -> None:
    base = kb(pool)
    editor = Author(None, "Dana", "dana@example.test")
    article = await base.create(demo.BRAND_SLUG, RETURNS, editor)
    await base.update(article.id, RETURNS, editor)
    await base.set_status(article.id, "draft", editor)
    await base.set_status(article.id, "published", editor)
    await base.delete(article.id, editor)
    rows = await pool.fetch(
        "SELECT action, actor_label, brand_id, target_id, detail FROM audit_log"
        " WHERE target_kind = 'kb_article' AND target_id = $1 ORDER BY id",
        str(article.id),
    )
    assert [r["action"] for r in rows] == [
        "kb.article_created",
        "kb.article_saved",
        "kb.article_unpublished",
        "kb.article_published",
        "kb.article_deleted",
    ]
    assert {r["actor_label"] for r in rows} == {"dana@example.test"}
    assert {r["brand_id"] for r in rows} == {article.brand_id}
    assert [r["detail"]["version"] for r in rows] == [1, 2, 3, 4, 4]
    assert rows[0]["detail"]["title"] == "Returning an item"
