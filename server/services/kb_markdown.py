"""An article's Markdown as safe HTML, and as the chunks search reads.

Authors write Markdown; what reaches a browser is markdown-it-py's HTML with raw HTML turned
off (an author's ``<script>`` is text, not a tag), then cleaned by nh3 against a list of the
tags and attributes Markdown makes, with only http(s) and mailto links. Either step alone
would do today; both stay, because a markdown-it plugin or option added later must not be
able to open a hole.

A chunk is one section (the text under a heading), and a long section is cut between
paragraphs into pieces of about ``CHUNK_CHARS``: a question matches the part of an article
that answers it, and a vector of a whole long article says little about any of its parts.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt

# About a paragraph or three: long enough to carry an answer, short enough that one vector
# still means one thing.
CHUNK_CHARS = 900

TAGS = {
    "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "img",
    "li", "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul", "s",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "th": {"align"},
    "td": {"align"},
}
SCHEMES = {"http", "https", "mailto"}
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


@functools.cache
def _parser() -> MarkdownIt:
    # CommonMark with tables and strikethrough; "html": False makes raw HTML text.
    return MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def to_html(markdown: str) -> str:
    """The Markdown as HTML that is safe to put in a page: only Markdown's own tags, links
    to http(s) and mailto only, each link ``rel="noopener noreferrer nofollow"``."""
    raw = _parser().render(markdown)
    return nh3.clean(
        raw,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def to_text(markdown: str) -> str:
    """The words of the Markdown without its markup, whitespace folded."""
    bare = nh3.clean(_parser().render(markdown), tags=set())
    return " ".join(html.unescape(bare).split())


def excerpt(markdown: str, length: int = 200) -> str:
    """The first ``length`` characters of the text, cut at a word, with an ellipsis when cut."""
    text = to_text(markdown)
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0] + "…"


@dataclass(frozen=True, slots=True)
class Chunk:
    """One section (or part of one) of an article, as plain text."""

    position: int
    heading: str
    text: str


def chunks(markdown: str, limit: int = CHUNK_CHARS) -> list[Chunk]:
    """The article cut at its headings, and long sections between paragraphs; an empty body
    is no chunk (search then finds the article by its title: ``chunks_or_title``)."""
    found: list[Chunk] = []
    for heading, section in _sections(markdown):
        for piece in _pieces(section, limit):
            text = to_text(piece)
            if text or heading:
                found.append(Chunk(len(found), heading, text))
    return found


def chunks_or_title(markdown: str) -> list[Chunk]:
    """Every article has at least one chunk, so its title alone is searchable."""
    return chunks(markdown) or [Chunk(0, "", "")]


def _sections(markdown: str) -> list[tuple[str, str]]:
    """(heading, Markdown under it) in order; text before the first heading has none. A
    ``#`` inside a fenced code block is code, not a heading."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match:
            sections.append((to_text(match.group(2)), []))
        else:
            sections[-1][1].append(line)
    return [(h, "\n".join(lines)) for h, lines in sections if h or "\n".join(lines).strip()]


def _pieces(section: str, limit: int) -> list[str]:
    """The section's paragraphs gathered into pieces of at most about ``limit`` characters
    (a single longer paragraph stays whole: cutting a sentence helps no one)."""
    pieces: list[str] = []
    current = ""
    for paragraph in re.split(r"\n\s*\n", section):
        if not paragraph.strip():
            continue
        if current and len(current) + len(paragraph) > limit:
            pieces.append(current)
            current = paragraph
        else:
            current = f"{current}\n\n{paragraph}" if current else paragraph
    if current:
        pieces.append(current)
    return pieces or [""]
