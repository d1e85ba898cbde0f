"""What `switchboard kb import` reads: Markdown files with front matter, our JSON, a Zendesk
Help Center articles export (its documented JSON shape), HTML turned to Markdown, and a
Chatwoot help-center export (its article list's JSON, as Chatwoot's API views write it)."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg

from server.services import demo
from server.services.embedder import WordLlamaEmbedder
from server.services.kb import Author, KnowledgeBase
from server.services.kb_import import (
    FORMAT,
    Imported,
    Skipped,
    Unreadable,
    html_to_markdown,
    read,
)

# Written from Chatwoot's article views (app/views/api/v1/accounts/articles/index.json.jbuilder
# and _article.json.jbuilder): "payload" and "meta"; status draft, published or archived.
CHATWOOT = Path(__file__).parent / "kb_import" / "chatwoot_articles.json"


def test_markdown_files_with_front_matter_and_without(tmp_path: Path) -> None:
    (tmp_path / "returns").mkdir()
    (tmp_path / "returns" / "label.md").write_text(
        "---\ntitle: Printing a return label\nlanguage: fr\ncategory: Retours\n"
        "tags: [retour, étiquette]\nstatus: published\n---\nOuvrez **Mes commandes**.\n"
    )
    (tmp_path / "delivery-times.md").write_text("# Delivery times\n\nTwo to four days.\n")
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody")
    (tmp_path / "notes.txt").write_text("not an article")
    found = list(read(tmp_path, language="en", publish=False))
    by_source = {item.source: item for item in found}
    assert set(by_source) == {"file:broken.md", "file:delivery-times.md", "file:returns/label.md"}
    label = by_source["file:returns/label.md"]
    assert isinstance(label, Imported)
    assert label.draft.title == "Printing a return label"
    assert (label.draft.language, label.draft.slug, label.draft.status) == (
        "fr",
        "label",
        "published",
    )
    assert label.draft.tags == ["retour", "étiquette"]
    assert label.draft.body == "Ouvrez **Mes commandes**."
    times = by_source["file:delivery-times.md"]
    assert isinstance(times, Imported)
    assert (times.draft.title, times.draft.body, times.draft.status) == (
        "Delivery times",
        "Two to four days.",
        "draft",
    )
    assert isinstance(by_source["file:broken.md"], Unreadable)


def test_a_zendesk_export_becomes_markdown_articles_in_their_sections(tmp_path: Path) -> None:
    export = {
        "articles": [
            {
                "id": 360001,
                "title": "Where is my order?",
                "locale": "en-us",
                "draft": False,
                "section_id": 7,
                "label_names": ["tracking"],
                "body": '<h2>Tracking</h2><p>Open <a href="https://shop.example/orders">your '
                "orders</a> and <strong>follow</strong> the link.</p><ul><li>One</li>"
                "<li>Two</li></ul><script>alert(1)</script>",
            },
            {"id": 360002, "title": "Brouillon", "locale": "fr", "draft": True, "body": ""},
            {"title": "no id"},
        ],
        "sections": [{"id": 7, "name": "Orders"}],
    }
    path = tmp_path / "zendesk.json"
    path.write_text(json.dumps(export))
    found = list(read(path, language="en", publish=False))
    first, second, third = found
    assert isinstance(first, Imported)
    assert first.source == "zendesk:360001"
    assert (first.draft.language, first.draft.category, first.draft.status) == (
        "en",
        "Orders",
        "published",
    )
    assert first.draft.tags == ["tracking"]
    assert first.draft.body.startswith(
        "## Tracking\n\nOpen [your orders](https://shop.example/orders) and **follow** the link."
    )
    assert "- One\n- Two" in first.draft.body
    assert isinstance(second, Imported)
    assert (second.draft.language, second.draft.status) == ("fr", "draft")
    assert isinstance(third, Unreadable)


def test_our_own_json_and_what_is_not_an_export(tmp_path: Path) -> None:
    ours = tmp_path / "kb.json"
    ours.write_text(
        json.dumps(
            {
                "format": FORMAT,
                "articles": [
                    {"brand": "demo", "language": "en", "slug": "a", "title": "A", "body": "x"},
                    {"body": "no title"},
                ],
            }
        )
    )
    good, bad = read(ours, language="en", publish=True)
    assert isinstance(good, Imported)
    assert (good.brand, good.draft.status, good.source) == ("demo", "published", "json:en/a")
    assert isinstance(bad, Unreadable)
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]")
    assert list(read(junk, language="en", publish=False)) == [
        Unreadable(
            str(junk), 'not an export: no "articles" list, nor Chatwoot\'s "payload" of articles'
        )
    ]


def test_html_code_blocks_and_line_breaks_survive() -> None:
    assert html_to_markdown("<pre><code>a  b\nc</code></pre>") == "```\na  b\nc\n```"
    assert html_to_markdown("<p>one<br>two</p>") == "one  \ntwo"


def test_a_chatwoot_export_keeps_its_markdown_category_and_locale_and_skips_archived() -> None:
    parcel, retour, archived, untitled = read(CHATWOOT, language="de", publish=False)
    assert isinstance(parcel, Imported)
    assert parcel.source == "chatwoot:101"
    assert parcel.brand is None
    assert (parcel.draft.language, parcel.draft.category, parcel.draft.status) == (
        "en",
        "Orders",
        "published",
    )
    assert parcel.draft.title == "Where is my parcel?"
    assert parcel.draft.body.startswith("## Tracking\n\nOpen **My orders** and follow the [")
    assert parcel.draft.tags == ["tracking", "delivery"]
    assert isinstance(retour, Imported)
    assert (retour.source, retour.draft.language, retour.draft.status) == (
        "chatwoot:102",
        "fr",
        "draft",
    )
    assert retour.draft.category == "Retours"
    assert archived == Skipped("chatwoot:103", "archived in Chatwoot: Old shipping rates")
    assert untitled == Unreadable("payload[3]", "a Chatwoot article needs an id and a title")


def test_a_plain_list_of_chatwoot_articles_and_a_status_it_does_not_know(tmp_path: Path) -> None:
    articles = json.loads(CHATWOOT.read_text())["payload"][:1]
    articles.append({"id": 9, "title": "Odd", "content": "x", "status": "hidden"})
    articles.append({"id": 10, "title": "No locale", "content": "y", "status": "published"})
    path = tmp_path / "chatwoot.json"
    path.write_text(json.dumps(articles))
    first, odd, bare = read(path, language="fr", publish=False)
    assert isinstance(first, Imported)
    assert first.source == "chatwoot:101"
    assert odd == Unreadable("chatwoot:9", "status: draft, published or archived, not 'hidden'")
    assert isinstance(bare, Imported)
    assert (bare.draft.language, bare.draft.category, bare.draft.tags) == ("fr", "", [])


async def test_importing_a_chatwoot_export_twice_updates_instead_of_copying(
    pool: asyncpg.Pool,
) -> None:
    base = KnowledgeBase(pool, WordLlamaEmbedder())
    author = Author(None, "import of chatwoot_articles.json")
    found = [i for i in read(CHATWOOT, language="en", publish=False) if isinstance(i, Imported)]
    first = [await base.put(demo.BRAND_SLUG, i.draft, author, i.source) for i in found]
    assert [written for _, written in first] == [True, True]
    again = [await base.put(demo.BRAND_SLUG, i.draft, author, i.source) for i in found]
    assert [written for _, written in again] == [False, False]
    assert [a.id for a, _ in again] == [a.id for a, _ in first]
    saved = await base.by_source(demo.BRAND_SLUG, "chatwoot:101")
    assert saved is not None
    assert (saved.slug, saved.status) == ("where-is-my-parcel", "published")
