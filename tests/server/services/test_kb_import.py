"""What `switchboard kb import` reads: Markdown files with front matter, our JSON, and a
Zendesk Help Center articles export (its documented JSON shape), HTML turned to Markdown."""

from __future__ import annotations

import json
from pathlib import Path

from server.services.kb_import import FORMAT, Imported, Unreadable, html_to_markdown, read


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
        Unreadable(str(junk), 'not an export: no "articles" list')
    ]


def test_html_code_blocks_and_line_breaks_survive() -> None:
    assert html_to_markdown("<pre><code>a  b\nc</code></pre>") == "```\na  b\nc\n```"
    assert html_to_markdown("<p>one<br>two</p>") == "one  \ntwo"
