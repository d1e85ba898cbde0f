"""What ``switchboard kb import`` reads, as articles to save (docs/knowledge-base.md):

- a folder of Markdown files, each with optional YAML front matter (title, slug, language,
  category, tags, status, brand) between ``---`` lines;
- Switchboard's own JSON (``{"format": "switchboard-kb/1", "articles": [...]}``, what
  ``switchboard kb export`` writes);
- a Zendesk Help Center articles export: the JSON of ``GET /api/v2/help_center/articles``
  (``{"articles": [{"id", "title", "body" (HTML), "locale", "draft", "label_names",
  "section_id"}]}``, with an optional ``"sections": [{"id", "name"}]`` for the categories).
  Its HTML becomes Markdown here; whatever Markdown cannot say is kept as text.
- a Chatwoot help-center export: the JSON of Chatwoot's article list
  (``GET /api/v1/accounts/{account_id}/portals/{portal}/articles``: ``{"payload": [{"id",
  "title", "content" (Markdown), "status", "locale", "category": {"name", "locale"}}],
  "meta": {...}}``), or a plain list of such articles. Archived articles are skipped.

Each article carries its ``source`` ("file:returns/label.md", "zendesk:360001",
"chatwoot:42"), so a second
import of the same files updates the articles it made instead of adding copies. Reading is
pure; a file that cannot be read is one ``Unreadable``, the others still import.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from server.store.kb import Draft, Status

FORMAT = "switchboard-kb/1"
MAX_FILE_BYTES = 5_000_000


@dataclass(frozen=True, slots=True)
class Imported:
    """One article to save: its brand (None: the command's --brand), fields and source."""

    brand: str | None
    draft: Draft
    source: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """What was read but is left out on purpose (a Chatwoot article archived), and why."""

    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class Unreadable:
    """What could not be read, and why."""

    source: str
    reason: str


def read(path: Path, *, language: str, publish: bool) -> Iterator[Imported | Skipped | Unreadable]:
    """The articles at ``path`` (a folder of Markdown, or a JSON file of one of the shapes);
    ``language`` and ``publish`` fill in what a file does not say."""
    status = "published" if publish else "draft"
    if path.is_dir():
        for file in sorted(path.rglob("*.md")):
            source = f"file:{file.relative_to(path).as_posix()}"
            try:
                yield markdown_file(file, source, language, status)
            except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
                yield Unreadable(source, str(exc).splitlines()[0] if str(exc) else repr(exc))
        return
    try:
        if path.stat().st_size > MAX_FILE_BYTES * 20:
            raise ValueError("larger than 100 MB")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        yield Unreadable(str(path), str(exc))
        return
    # Chatwoot's list answer wraps its articles in "payload" (beside "meta"); a plain list of
    # objects is its articles alone (pages joined).
    if isinstance(data, dict) and isinstance(data.get("payload"), list):
        yield from _chatwoot(data["payload"], language)
        return
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        yield from _chatwoot(data, language)
        return
    if not isinstance(data, dict) or not isinstance(data.get("articles"), list):
        yield Unreadable(
            str(path), 'not an export: no "articles" list, nor Chatwoot\'s "payload" of articles'
        )
        return
    if data.get("format") == FORMAT:
        yield from _ours(data["articles"], language, status)
    else:
        sections = {s.get("id"): s.get("name", "") for s in data.get("sections") or []}
        yield from _zendesk(data["articles"], sections, language)


def markdown_file(file: Path, source: str, language: str, status: str) -> Imported:
    if file.stat().st_size > MAX_FILE_BYTES:
        raise ValueError("larger than 5 MB")
    text = file.read_text(encoding="utf-8")
    meta: dict[str, Any] = {}
    if text.startswith("---"):
        head, sep, rest = text[3:].partition("\n---")
        if not sep:
            raise ValueError("front matter opened with --- but never closed")
        loaded = yaml.safe_load(head)
        if loaded is not None and not isinstance(loaded, dict):
            raise ValueError("front matter is not a YAML mapping")
        meta = loaded or {}
        text = rest.split("\n", 1)[1] if "\n" in rest else ""
    body = text.strip("\n")
    title = str(meta.get("title") or "")
    if not title:
        # No title in the front matter: the first "# " line is the title.
        first, _, remainder = body.partition("\n")
        if first.startswith("# "):
            title, body = first[2:].strip(), remainder.strip("\n")
        else:
            title = file.stem.replace("-", " ").replace("_", " ").capitalize()
    draft = Draft(
        str(meta.get("language") or language),
        str(meta.get("slug") or file.stem.lower()),
        title,
        body,
        str(meta.get("category") or ""),
        _tags(meta.get("tags")),
        _status(meta.get("status"), status),
    )
    brand = meta.get("brand")
    return Imported(str(brand) if brand else None, draft, source)


def _tags(value: object) -> list[str]:
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, list):
        return [str(t) for t in value]
    return []


def _status(value: object, default: str) -> Any:
    if value is None:
        return default
    if value not in ("draft", "published"):
        raise ValueError(f"status: draft or published, not {value!r}")
    return value


def _ours(articles: list[Any], language: str, status: str) -> Iterator[Imported | Unreadable]:
    for n, item in enumerate(articles):
        where = f"articles[{n}]"
        if not isinstance(item, dict) or not item.get("title"):
            yield Unreadable(where, "an article needs at least a title")
            continue
        try:
            draft = Draft(
                str(item.get("language") or language),
                str(item.get("slug") or ""),
                str(item["title"]),
                str(item.get("body") or ""),
                str(item.get("category") or ""),
                _tags(item.get("tags")),
                _status(item.get("status"), status),
            )
        except ValueError as exc:
            yield Unreadable(where, str(exc))
            continue
        brand = item.get("brand")
        source = item.get("source") or f"json:{draft.language}/{draft.slug or draft.title}"
        yield Imported(str(brand) if brand else None, draft, str(source))


def _zendesk(
    articles: list[Any], sections: dict[Any, str], language: str
) -> Iterator[Imported | Unreadable]:
    for n, item in enumerate(articles):
        if not isinstance(item, dict) or "id" not in item or not item.get("title"):
            yield Unreadable(f"articles[{n}]", "a Zendesk article needs an id and a title")
            continue
        locale = str(item.get("locale") or language)
        draft = Draft(
            locale.split("-")[0].lower(),
            "",
            str(item["title"]),
            html_to_markdown(str(item.get("body") or "")),
            str(sections.get(item.get("section_id"), "")),
            _tags(item.get("label_names")),
            "draft" if item.get("draft") else "published",
        )
        yield Imported(None, draft, f"zendesk:{item['id']}")


# Chatwoot's article statuses (app/models/article.rb: enum draft 0, published 1, archived 2),
# as its JSON spells them, and as their numbers in case a raw database dump is given.
_CHATWOOT_STATUS: dict[str | int, Status] = {
    "draft": "draft",
    "published": "published",
    0: "draft",
    1: "published",
}
_CHATWOOT_ARCHIVED = ("archived", 2)


def _chatwoot(articles: list[Any], language: str) -> Iterator[Imported | Skipped | Unreadable]:
    for n, item in enumerate(articles):
        if not isinstance(item, dict) or "id" not in item or not item.get("title"):
            yield Unreadable(f"payload[{n}]", "a Chatwoot article needs an id and a title")
            continue
        source = f"chatwoot:{item['id']}"
        status = item.get("status", "draft")
        if status in _CHATWOOT_ARCHIVED:
            yield Skipped(source, f"archived in Chatwoot: {item['title']}")
            continue
        if not isinstance(status, str | int) or status not in _CHATWOOT_STATUS:
            yield Unreadable(source, f"status: draft, published or archived, not {status!r}")
            continue
        category = _mapping(item.get("category"))
        locale = str(item.get("locale") or category.get("locale") or language)
        meta = _mapping(item.get("meta"))
        draft = Draft(
            # "pt_BR" and "en-US" are languages pt and en.
            locale.replace("_", "-").split("-")[0].lower(),
            "",  # made from the title: Chatwoot's slugs start with a timestamp
            str(item["title"]),
            str(item.get("content") or ""),  # Markdown already
            str(category.get("name") or ""),
            _tags(meta.get("tags")),
            _CHATWOOT_STATUS[status],
        )
        yield Imported(None, draft, source)


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Markdown(HTMLParser):
    """HTML's structure as Markdown: headings, paragraphs, lists, links, emphasis, code."""

    BLOCKS = frozenset({"p", "div", "ul", "ol", "table", "tr", "blockquote", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.href: list[str | None] = []
        self.pre = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self.BLOCKS:
            self.out.append("\n\n```\n" if tag == "pre" else "\n\n")
            self.pre = self.pre or tag == "pre"
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "br":
            self.out.append("  \n")
        elif tag in ("strong", "b"):
            self.out.append("**")
        elif tag in ("em", "i"):
            self.out.append("*")
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag == "a":
            self.href.append(dict(attrs).get("href"))
            self.out.append("[")
        elif tag == "img":
            found = dict(attrs)
            self.out.append(f"![{found.get('alt') or ''}]({found.get('src') or ''})")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") or tag in self.BLOCKS:
            self.out.append("\n```\n\n" if tag == "pre" else "\n\n")
            self.pre = self.pre and tag != "pre"
        elif tag in ("strong", "b"):
            self.out.append("**")
        elif tag in ("em", "i"):
            self.out.append("*")
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag == "a":
            href = self.href.pop() if self.href else None
            self.out.append(f"]({href})" if href else "]")

    def handle_data(self, data: str) -> None:
        if self.pre:
            self.out.append(data)
        elif data.strip():
            self.out.append(_spaced(data))


def _spaced(data: str) -> str:
    """Text with its whitespace folded, keeping one space where it had some at either end."""
    inner = " ".join(data.split())
    return (" " if data[:1].isspace() else "") + inner + (" " if data[-1:].isspace() else "")


def html_to_markdown(html: str) -> str:
    """Zendesk's article HTML as Markdown (raw HTML would show as text in our articles)."""
    parser = _Markdown()
    parser.feed(html)
    parser.close()
    # Trailing spaces go, but two of them are a line break (<br>) and stay.
    lines = "".join(parser.out).split("\n")
    text = "\n".join(line if line.endswith("  ") else line.rstrip() for line in lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()
