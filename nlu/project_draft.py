"""A Rasa project's files held in memory while edits are made to them (``Draft``), and what an
edit comes to (``Change``: each touched file's text before and after). ``nlu.project_writer``
makes the edits; ``nlu.flow_writer`` the rules and stories. Errors form one tree, each naming
the file and line when there is one::

    EditError                 the edit cannot be made
    ├── UnknownItem           no such intent, example or response (an HTTP 404)
    ├── AlreadyThere          the intent or example exists already (409)
    ├── BadEdit               a malformed name, example, annotation or response (400)
    ├── Stale                 a file changed between computing and writing the edit (409)
    └── Unwritable            the files cannot take the edit in place (422)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import LiteralScalarString

from nlu.project import project_files
from nlu.yaml_splice import SpliceError, YamlText, plain

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$")
ENTITY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
NEW_DATA_FILE = "data/nlu.yml"


class EditError(Exception):
    """An edit that cannot be made; ``path`` (relative to the project) and ``line`` (1-based)
    say where when the files are the reason."""

    def __init__(self, reason: str, path: str | None = None, line: int | None = None) -> None:
        where = f"{path}:{line}: " if path and line else f"{path}: " if path else ""
        super().__init__(f"{where}{reason}")
        self.reason = reason
        self.path = path
        self.line = line


class UnknownItem(EditError):
    """No such intent, example, synonym, regex, lookup table or response."""


class AlreadyThere(EditError):
    """The intent or example to add exists already."""


class BadEdit(EditError):
    """A malformed name, example, entity annotation or response."""


class Stale(EditError):
    """A file changed between computing an edit and writing it."""


class Unwritable(EditError):
    """The project's files cannot take the edit in place (unreadable YAML, odd shape)."""


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file's text before and after an edit (None: the file did not / will not exist)."""

    path: str  # relative to the project folder, with forward slashes
    before: str | None
    after: str | None

    def diff(self) -> str:
        """The unified diff of this file, as ``git diff`` shows it."""
        before = (self.before or "").splitlines(keepends=True)
        after = (self.after or "").splitlines(keepends=True)
        lines = difflib.unified_diff(
            before,
            after,
            "/dev/null" if self.before is None else f"a/{self.path}",
            "/dev/null" if self.after is None else f"b/{self.path}",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass(frozen=True, slots=True)
class Change:
    """What an edit does to the project's files; empty when nothing changes."""

    summary: str
    files: tuple[FileChange, ...] = ()

    def diff(self) -> str:
        return "".join(f.diff() for f in self.files)

    @property
    def lines_changed(self) -> tuple[int, int]:
        """(added, removed) lines, as ``git diff --numstat`` counts them."""
        added = removed = 0
        for line in self.diff().splitlines():
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
        return added, removed


@dataclass
class Draft:
    """Edits to one project, held in memory until ``change()`` collects them."""

    root: Path
    _files: dict[str, YamlText] = field(default_factory=dict)
    _before: dict[str, str | None] = field(default_factory=dict)

    def file(self, relative: str) -> YamlText:
        if relative not in self._files:
            path = self.root / relative
            try:
                # Bytes, so line ends are kept as they are.
                text = path.read_bytes().decode("utf-8") if path.is_file() else None
            except (OSError, UnicodeDecodeError) as error:
                raise Unwritable(f"cannot read: {error}", relative) from error
            self._before[relative] = text
            try:
                self._files[relative] = YamlText(text if text is not None else "")
            except SpliceError as error:
                raise Unwritable(str(error), relative, error.line) from error
        return self._files[relative]

    def change(self, summary: str) -> Change:
        files = tuple(
            FileChange(path, self._before[path], yt.text)
            for path, yt in sorted(self._files.items())
            if yt.text != (self._before[path] or "")
        )
        return Change(summary, files)

    # -- where things are -----------------------------------------------------------------

    def data_files(self) -> list[str]:
        return [
            _relative(self.root, p)
            for p in project_files(self.root)
            if p.is_file() and _relative(self.root, p).startswith("data/")
        ]

    def domain_files(self) -> list[str]:
        files = [
            _relative(self.root, p)
            for p in project_files(self.root)[1:]
            if not _relative(self.root, p).startswith("data/")
        ]
        return [f for f in files if (self.root / f).is_file()] or ["domain.yml"]

    def nlu_items(self, kind: str, name: str) -> Iterator[tuple[str, CommentedSeq, int]]:
        """Each (file, ``nlu`` sequence, index) of the items ``kind: name`` (kind: intent,
        synonym, regex, lookup)."""
        for relative in self.data_files():
            doc = self.file(relative).doc
            items = doc.get("nlu") if isinstance(doc, CommentedMap) else None
            if not isinstance(items, CommentedSeq):
                continue
            for index, item in enumerate(items):
                if isinstance(item, CommentedMap) and str(item.get(kind)) == name:
                    yield relative, items, index

    def items_of(self, kind: str, name: str) -> list[str]:
        """Every line of every ``kind: name`` item, in file order."""
        return [
            line
            for relative, items, index in self.nlu_items(kind, name)
            for line in block_lines(items[index], relative)
        ]

    def domain_with(self, key: str) -> str:
        """The domain file that holds ``key`` (else the first domain file)."""
        for relative in self.domain_files():
            doc = self.file(relative).doc
            if isinstance(doc, CommentedMap) and key in doc:
                return relative
        return self.domain_files()[0]

    # -- edits ----------------------------------------------------------------------------

    def set_item_lines(self, kind: str, name: str, lines: Sequence[str]) -> None:
        """Make the ``kind: name`` items hold ``lines``: the first item takes them all and
        the others are emptied (removed, when ``lines`` is empty, with the first too)."""
        found = list(self.nlu_items(kind, name))
        if not found:
            if lines:
                self.append_nlu_item(kind, name, lines)
            return
        # Later items first: removing one leaves earlier line numbers as they were.
        for position, (relative, items, index) in reversed(list(enumerate(found))):
            keep = lines if position == 0 else []
            with self.editing(relative) as yt:
                if keep:
                    set_block(yt, items[index], keep)
                else:
                    _remove_item(yt, items, index)

    def append_nlu_item(self, kind: str, name: str, lines: Sequence[str]) -> None:
        intent_files = [f for f in self.data_files() if _has_intents(self.file(f).doc)]
        data = self.data_files()
        relative = next(iter(intent_files), data[0] if data else NEW_DATA_FILE)
        item = CommentedMap()
        item[kind] = name
        item["examples"] = LiteralScalarString("".join(f"- {line}\n" for line in lines))
        with self.editing(relative) as yt:
            doc = yt.doc
            if not isinstance(doc, CommentedMap):
                yt.splice(0, len(yt.lines), ['version: "3.1"', "", "nlu:"])
                yt.commit({"version": "3.1", "nlu": None})
                doc = yt.doc
            items = doc.get("nlu")
            if isinstance(items, CommentedSeq) and items:
                # A new intent goes after the file's last intent, before synonyms and the like.
                kinds = [kind in i if isinstance(i, CommentedMap) else False for i in items]
                after = max((i for i, k in enumerate(kinds) if k), default=len(items) - 1)
                _insert_in_seq(yt, items, after, item)
            else:
                _set_entry(yt, doc, "nlu", [item], sequence_offset=0)

    def add_to_domain_list(self, key: str, name: str) -> None:
        """Name an intent or entity in the domain (``intents:`` / ``entities:``)."""
        relative = self.domain_with(key)
        yt = self.file(relative)
        doc = yt.doc if isinstance(yt.doc, CommentedMap) else None
        if doc is None:
            raise Unwritable("the domain file is empty or not a mapping", relative)
        known = doc.get(key)
        if isinstance(known, CommentedSeq) and any(_list_name(v) == name for v in known):
            return
        with self.editing(relative):
            if isinstance(known, CommentedSeq) and known:
                _append_to_seq(yt, known, name)
            else:
                _set_entry(yt, doc, key, [name], sequence_offset=2)

    def set_response(self, name: str, value: list[Any] | None) -> None:
        """Write (or, with None, remove) the response ``name`` in the domain."""
        relative = None
        for candidate in self.domain_files():
            doc = self.file(candidate).doc
            responses = doc.get("responses") if isinstance(doc, CommentedMap) else None
            if isinstance(responses, CommentedMap) and name in responses:
                relative = candidate
                break
        if relative is None:
            if value is None:
                raise UnknownItem(f"no response {name}")
            relative = self.domain_with("responses")
        yt = self.file(relative)
        doc = yt.doc
        if not isinstance(doc, CommentedMap):
            raise Unwritable("the domain file is empty or not a mapping", relative)
        responses = doc.get("responses")
        with self.editing(relative):
            if isinstance(responses, CommentedMap) and responses:
                offset = yt.sequence_offset(responses, next(iter(responses)))
                if value is None:
                    start, end = yt.entry_span(responses, name)
                    start, end = with_blank_after(yt, start, end)
                    yt.splice(start, end, [])
                    del responses[name]
                    yt.commit(doc)
                elif plain(responses.get(name)) != plain(value):
                    _set_entry(yt, responses, name, value, offset, expected_root=doc)
            elif value is not None:
                _set_entry(yt, doc, "responses", {name: value}, sequence_offset=2)

    @contextmanager
    def editing(self, relative: str) -> Iterator[YamlText]:
        """The file to splice; a splice that fails is an ``Unwritable`` naming it."""
        yt = self.file(relative)
        try:
            yield yt
        except SpliceError as error:
            raise Unwritable(str(error), relative, error.line) from error


def _has_intents(doc: Any) -> bool:
    items = doc.get("nlu") if isinstance(doc, CommentedMap) else None
    return isinstance(items, CommentedSeq) and any(
        isinstance(item, CommentedMap) and "intent" in item for item in items
    )


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _list_name(value: Any) -> str:
    return str(next(iter(value))) if isinstance(value, dict) else str(value)


def block_lines(item: CommentedMap, relative: str) -> list[str]:
    examples = item.get("examples")
    if examples is None:
        return []
    if not isinstance(examples, str):
        line = item.lc.key("examples")[0] + 1
        raise Unwritable("examples written as a list cannot be edited here", relative, line)
    return [raw.strip()[2:].strip() for raw in examples.splitlines() if raw.strip()]


def set_block(yt: YamlText, item: CommentedMap, lines: Sequence[str]) -> None:
    yt.set_block_items(item, "examples", lines)
    item["examples"] = LiteralScalarString("".join(f"- {line}\n" for line in lines))
    yt.commit(yt.doc)


def _remove_item(yt: YamlText, items: CommentedSeq, index: int) -> None:
    start, end = yt.item_span(items, index)
    start, end = with_blank_after(yt, start, end)
    yt.splice(start, end, [])
    del items[index]
    yt.commit(yt.doc)


def with_blank_after(yt: YamlText, start: int, end: int) -> tuple[int, int]:
    """Take one blank line that separated the removed node from the next with it."""
    lines = yt.lines
    if end < len(lines) and not lines[end].strip():
        return start, end + 1
    if start > 0 and not lines[start - 1].strip() and end >= len(lines):
        return start - 1, end
    return start, end


def _append_to_seq(yt: YamlText, items: CommentedSeq, value: Any) -> None:
    _insert_in_seq(yt, items, len(items) - 1, value)


def _insert_in_seq(yt: YamlText, items: CommentedSeq, after: int, value: Any) -> None:
    end = yt.item_span(items, after)[1]
    dash = yt.dash_column(items)
    new = yt.render([value], dash, sequence_offset=0)
    if yt.separated_by_blank(items):
        new = ["", *new]
    yt.splice(end, end, new)
    items.insert(after + 1, value)
    yt.commit(yt.doc)


def _set_entry(
    yt: YamlText,
    parent: CommentedMap,
    key: str,
    value: Any,
    sequence_offset: int,
    expected_root: Any = None,
) -> None:
    """Write ``key: value`` in place of the entry (or after the last one when new)."""
    column = int(parent.lc.key(next(iter(parent)))[1]) if parent else 0
    new = yt.render({key: value}, column, sequence_offset)
    if key in parent:
        start, end = yt.entry_span(parent, key)
    elif parent:
        end = yt.entry_span(parent, list(parent)[-1])[1]
        start = end
        if yt.separated_by_blank(parent) or column == 0:
            new = ["", *new]
    else:
        start = end = len(yt.lines)
    yt.splice(start, end, new)
    parent[key] = value
    yt.commit(expected_root if expected_root is not None else yt.doc)
