"""An article's Markdown as safe HTML, and cut into the chunks search reads."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from server.services.kb_markdown import chunks, excerpt, to_html, to_text

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "![x](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<iframe src="https://evil.example"></iframe>',
    "<svg onload=alert(1)>",
    '[x](https://ok.example "t\\" onmouseover=\\"alert(1))',
    "<style>body{display:none}</style>",
]


class Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def dangers(rendered: str) -> list[str]:
    """What in this HTML could run script or load another document."""
    parser = Elements()
    parser.feed(rendered)
    found = []
    for tag, attrs in parser.found:
        if tag in ("script", "iframe", "svg", "style", "object", "embed", "form", "math"):
            found.append(tag)
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                found.append(f"{tag} {name}")
            if name in ("href", "src") and _scheme(value or "") not in (
                "",
                "http",
                "https",
                "mailto",
            ):
                found.append(f"{tag} {name}={value}")
    return found


def _scheme(url: str) -> str:
    """A URL's scheme as a browser reads it ("" for a relative one)."""
    head = url.strip().split("/", 1)[0]
    return head.split(":", 1)[0].lower() if ":" in head else ""


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_author_html_script_or_script_link_survives(payload: str) -> None:
    rendered = to_html(f"Before\n\n{payload}\n\nAfter")
    assert dangers(rendered) == [], rendered
    assert dangers(to_html(f"# {payload}")) == []


def test_the_checker_sees_what_an_unsanitised_renderer_would_let_through() -> None:
    assert dangers('<img src=x onerror="alert(1)"><a href="javascript:x">') == [
        "img onerror",
        "a href=javascript:x",
    ]


def test_markdown_becomes_its_html_and_links_do_not_pass_the_referrer() -> None:
    rendered = to_html("# Returns\n\nSee **the form** at [our site](https://shop.example/r).")
    assert "<h1>Returns</h1>" in rendered
    assert "<strong>the form</strong>" in rendered
    assert 'href="https://shop.example/r"' in rendered
    assert 'rel="noopener noreferrer nofollow"' in rendered


def test_text_and_excerpt_drop_the_markup_and_cut_at_a_word() -> None:
    assert to_text("Some *stress* and `code` &amp; [a link](https://x.example)") == (
        "Some stress and code & a link"
    )
    cut = excerpt("word " * 100, 22)
    assert cut == "word word word word…"


def test_an_article_is_cut_at_its_headings_and_long_sections_between_paragraphs() -> None:
    long_section = "\n\n".join(f"Paragraph {n} " + "text " * 40 for n in range(6))
    body = f"Intro line.\n\n## Delivery times\n\nTwo days.\n\n## Costs\n\n{long_section}"
    found = chunks(body, limit=500)
    assert [c.heading for c in found[:3]] == ["", "Delivery times", "Costs"]
    assert found[0].text == "Intro line."
    assert found[1].text == "Two days."
    costs = [c for c in found if c.heading == "Costs"]
    assert len(costs) == 3  # six paragraphs of ~210 characters, at most ~500 a chunk
    assert [c.position for c in found] == list(range(len(found)))


def test_a_hash_in_a_code_block_is_not_a_heading() -> None:
    found = chunks("## Setup\n\n```\n# not a heading\n```\n")
    assert [c.heading for c in found] == ["Setup"]
