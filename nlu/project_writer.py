"""Editing a Rasa 3 project's files the way a person would: an added example is one added line,
and comments, key order, quoting and indentation everywhere else are left as they were (see
``nlu.yaml_splice``), so a team that keeps the project in git sees ordinary diffs.

Every edit is computed, not written: it returns a ``Change`` (each touched file's text before
and after) that the caller checks and writes (``write_change``), or drops. Several edits can
share one ``Draft`` and become one change::

    example = parse_example("where is [10234](order_number)", "order_status")
    write_change(root, add_examples(root, "order_status", [example]))

Errors form one tree, each naming the file and line when there is one::

    EditError                 the edit cannot be made
    ├── UnknownItem           no such intent, example or response (an HTTP 404)
    ├── AlreadyThere          the intent or example exists already (409)
    ├── BadEdit               a malformed name, example, annotation or response (400)
    ├── Stale                 a file changed between computing and writing the edit (409)
    └── Unwritable            the files cannot take the edit in place (422)
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from nlu.base import Button
from nlu.markup import Example, Span, parse_example
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


@dataclass(frozen=True, slots=True)
class Variation:
    """One variation of a response as the studio edits it: a text, buttons, an image, and
    the language it is said in (its ``language`` slot condition; None: any). Other slot
    conditions, a channel and a custom payload are carried through untouched."""

    text: str | None = None
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    language: str | None = None
    conditions: tuple[tuple[str, Any], ...] = ()
    channel: str | None = None
    custom: dict[str, Any] | None = None


def markup(example: Example) -> str:
    """An example in Rasa's markup: ``[10234](order_number)``, or the JSON form
    ``[paris]{"entity": "city", "role": "to"}`` when a role, group or synonym value is set."""
    text = example.text.strip()
    if not text or "\n" in text or "\r" in text:
        raise BadEdit("an example is one non-empty line")
    out: list[str] = []
    cursor = 0
    for span in sorted(example.entities, key=lambda s: s.start):
        _check_span(example.text, span, cursor)
        out.append(example.text[cursor : span.start])
        out.append(f"[{span.text}]{_annotation(span)}")
        cursor = span.end
    out.append(example.text[cursor:])
    written = "".join(out).strip()
    # What Rasa will read back must be what was meant.
    try:
        again = parse_example(written, example.intent)
    except ValueError as error:
        raise BadEdit(f"the example cannot be written as Rasa markup: {error}") from error
    if again.text.strip() != text or len(again.entities) != len(example.entities):
        raise BadEdit("the example's brackets clash with Rasa's entity markup")
    return written


def _check_span(text: str, span: Span, cursor: int) -> None:
    if not ENTITY_NAME.match(span.entity):
        raise BadEdit(f"bad entity name {span.entity!r}")
    if span.start < cursor or span.end > len(text) or span.start >= span.end:
        raise BadEdit(f"entity {span.entity} at {span.start}-{span.end}: spans overlap or overrun")
    if text[span.start : span.end] != span.text:
        raise BadEdit(f"entity {span.entity}: {span.text!r} is not the text at its place")
    if any(c in span.text for c in "[]()") or span.text != span.text.strip():
        raise BadEdit(f"entity {span.entity}: an annotated value has no brackets or edge spaces")


def _annotation(span: Span) -> str:
    if span.role is None and span.group is None and span.value == span.text:
        return f"({span.entity})"
    spec: dict[str, str] = {"entity": span.entity}
    if span.value != span.text:
        spec["value"] = span.value
    if span.role:
        spec["role"] = span.role
    if span.group:
        spec["group"] = span.group
    return json.dumps(spec, ensure_ascii=False)


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
            for line in _block_lines(items[index], relative)
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
                    _set_block(yt, items[index], keep)
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


def _block_lines(item: CommentedMap, relative: str) -> list[str]:
    examples = item.get("examples")
    if examples is None:
        return []
    if not isinstance(examples, str):
        line = item.lc.key("examples")[0] + 1
        raise Unwritable("examples written as a list cannot be edited here", relative, line)
    return [raw.strip()[2:].strip() for raw in examples.splitlines() if raw.strip()]


def _set_block(yt: YamlText, item: CommentedMap, lines: Sequence[str]) -> None:
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


# -- public edits ---------------------------------------------------------------------------


def _check_name(name: str, what: str) -> str:
    name = name.strip()
    if not NAME.match(name):
        raise BadEdit(f"bad {what} name {name!r}: letters, digits, _ . - / only")
    return name


def _note_entities(draft: Draft, examples: Sequence[Example]) -> None:
    for example in examples:
        for span in example.entities:
            draft.add_to_domain_list("entities", span.entity)


def add_examples(
    project_dir: Path, intent: str, examples: Sequence[Example], *, create: bool = False
) -> Change:
    """Add ``examples`` (their entity spans written as Rasa markup; each example's own
    ``intent`` field is not consulted) at the end of ``intent``'s examples. Examples the
    intent has already are skipped; an unknown intent is an ``UnknownItem`` unless
    ``create``, which adds it (to the data and the domain). Nothing is written."""
    draft = Draft(project_dir.resolve())
    add_examples_to(draft, intent, examples, create=create)
    return draft.change(f"add {len(examples)} example(s) to {intent}")


def add_examples_to(
    draft: Draft, intent: str, examples: Sequence[Example], *, create: bool = False
) -> None:
    """``add_examples`` on a draft shared with other edits."""
    intent = _check_name(intent, "intent")
    written = [markup(e) for e in examples]
    current = draft.items_of("intent", intent)
    if not current and not any(True for _ in draft.nlu_items("intent", intent)):
        if not create:
            raise UnknownItem(f"no intent {intent}")
        draft.add_to_domain_list("intents", intent.split("/", 1)[0])
    new = [w for i, w in enumerate(written) if w not in current and w not in written[:i]]
    if not new and current:
        return
    found = list(draft.nlu_items("intent", intent))
    if found:
        relative, items, index = found[-1]
        lines = _block_lines(items[index], relative) + new
        with draft.editing(relative) as yt:
            _set_block(yt, items[index], lines)
    else:
        draft.append_nlu_item("intent", intent, new)
    _note_entities(draft, examples)


def add_intent(project_dir: Path, intent: str, examples: Sequence[Example] = ()) -> Change:
    """A new intent, named in the domain, with its first examples; ``AlreadyThere`` if it
    exists."""
    draft = Draft(project_dir.resolve())
    intent = _check_name(intent, "intent")
    if any(True for _ in draft.nlu_items("intent", intent)):
        raise AlreadyThere(f"intent {intent} exists already")
    draft.add_to_domain_list("intents", intent.split("/", 1)[0])
    if examples:
        add_examples_to(draft, intent, examples, create=True)
    else:
        draft.append_nlu_item("intent", intent, [])
    return draft.change(f"add intent {intent}")


def edit_example(project_dir: Path, intent: str, old: str, new: Example) -> Change:
    """Replace the example ``old`` of ``intent`` (its markup as in the file, or its plain
    text: the first example that reads so)."""
    draft = Draft(project_dir.resolve())
    written = markup(new)
    _replace_example(draft, intent, old, [written])
    _note_entities(draft, [new])
    return draft.change(f"edit an example of {intent}")


def delete_example(project_dir: Path, intent: str, old: str) -> Change:
    """Remove the example ``old`` (markup or plain text, as for ``edit_example``)."""
    draft = Draft(project_dir.resolve())
    _replace_example(draft, intent, old, [])
    return draft.change(f"delete an example of {intent}")


def _replace_example(draft: Draft, intent: str, old: str, new: list[str]) -> None:
    found = list(draft.nlu_items("intent", intent))
    if not found:
        raise UnknownItem(f"no intent {intent}")
    old = old.strip()
    for relative, items, index in found:
        lines = _block_lines(items[index], relative)
        at = next((i for i, line in enumerate(lines) if _means(line, old)), None)
        if at is not None:
            if new and new[0] != lines[at] and new[0] in draft.items_of("intent", intent):
                raise AlreadyThere(f"intent {intent} has this example already")
            lines[at : at + 1] = new
            with draft.editing(relative) as yt:
                _set_block(yt, items[index], lines)
            return
    raise UnknownItem(f"intent {intent} has no example {old!r}")


def _means(line: str, old: str) -> bool:
    """Whether an example line is ``old``, written as in the file or as its plain text."""
    if line == old:
        return True
    try:
        return parse_example(line, "").text.strip() == old
    except ValueError:
        return False


def _set_named_list(project_dir: Path, kind: str, name: str, values: Sequence[str]) -> Change:
    name = name.strip()
    if not name or "\n" in name:
        raise BadEdit(f"a {kind} needs a one-line name")
    cleaned: list[str] = []
    for value in values:
        value = value.strip()
        if not value or "\n" in value:
            raise BadEdit(f"{kind} {name}: each value is one non-empty line")
        if kind == "regex":
            try:
                re.compile(value)
            except re.error as error:
                reason = f"regex {name}: {value!r} is not a regular expression: {error}"
                raise BadEdit(reason) from error
        if value not in cleaned:
            cleaned.append(value)
    draft = Draft(project_dir.resolve())
    if not cleaned and not any(True for _ in draft.nlu_items(kind, name)):
        raise UnknownItem(f"no {kind} {name}")
    draft.set_item_lines(kind, name, cleaned)
    verb = "remove" if not cleaned else "set"
    return draft.change(f"{verb} {kind} {name}")


def set_synonym(project_dir: Path, value: str, texts: Sequence[str]) -> Change:
    """The texts that mean ``value`` (an entity's canonical value); empty removes it."""
    return _set_named_list(project_dir, "synonym", value, texts)


def set_regex(project_dir: Path, name: str, patterns: Sequence[str]) -> Change:
    """The patterns of regex feature ``name``; empty removes it."""
    return _set_named_list(project_dir, "regex", name, patterns)


def set_lookup(project_dir: Path, name: str, values: Sequence[str]) -> Change:
    """The values of lookup table ``name``; empty removes it."""
    return _set_named_list(project_dir, "lookup", name, values)


def _variation(value: Variation, quoted: bool) -> CommentedMap:
    out = CommentedMap()
    if value.text is not None:
        if not value.text.strip():
            raise BadEdit("a response text cannot be blank")
        out["text"] = DoubleQuotedScalarString(value.text) if quoted else value.text
    if value.image:
        out["image"] = DoubleQuotedScalarString(value.image) if quoted else value.image
    if value.buttons:
        buttons = CommentedSeq()
        for button in value.buttons:
            if not button.title.strip():
                raise BadEdit("a button needs a title")
            entry = CommentedMap()
            entry["title"] = button.title
            entry["payload"] = button.payload or button.title
            buttons.append(entry)
        out["buttons"] = buttons
    if value.custom:
        out["custom"] = value.custom
    if value.channel:
        out["channel"] = value.channel
    conditions = [(n, v) for n, v in value.conditions if n != "language"]
    if value.language:
        conditions.append(("language", value.language))
    if conditions:
        seq = CommentedSeq()
        for slot, wanted in conditions:
            entry = CommentedMap()
            entry["type"] = "slot"
            entry["name"] = slot
            entry["value"] = wanted
            seq.append(entry)
        out["condition"] = seq
    if value.text is None and not value.image and not value.custom and not value.buttons:
        raise BadEdit("a response variation needs a text, an image or a custom payload")
    return out


def set_response(project_dir: Path, name: str, variations: Sequence[Variation]) -> Change:
    """Write the response ``name`` (new or replaced) with ``variations``, one per language
    or condition; its texts are quoted as the domain's other texts are."""
    name = _check_name(name, "response")
    if not name.startswith("utter_"):
        raise BadEdit("a response's name starts with utter_")
    if not variations:
        raise BadEdit("a response needs at least one variation")
    draft = Draft(project_dir.resolve())
    quoted = _texts_are_quoted(draft)
    draft.set_response(name, [_variation(v, quoted) for v in variations])
    return draft.change(f"set response {name}")


def delete_response(project_dir: Path, name: str) -> Change:
    draft = Draft(project_dir.resolve())
    draft.set_response(name, None)
    return draft.change(f"delete response {name}")


def _texts_are_quoted(draft: Draft) -> bool:
    for relative in draft.domain_files():
        yt = draft.file(relative)
        responses = yt.doc.get("responses") if isinstance(yt.doc, CommentedMap) else None
        if isinstance(responses, CommentedMap):
            for variations in responses.values():
                for variation in variations or []:
                    if isinstance(variation, dict) and "text" in variation:
                        return isinstance(variation["text"], DoubleQuotedScalarString)
    return True


def write_change(project_dir: Path, change: Change) -> None:
    """Write a change's files (``after`` None removes the file). A file that no longer holds
    what the change was computed from is ``Stale`` and nothing is written: an edit computed
    before another one was written never undoes it."""
    for file in change.files:
        path = project_dir / file.path
        try:
            current = path.read_bytes().decode("utf-8") if path.is_file() else None
        except (OSError, UnicodeDecodeError) as error:
            raise Unwritable(f"cannot read: {error}", file.path) from error
        if current != file.before:
            raise Stale("the file changed since this edit was computed: try again", file.path)
    for file in change.files:
        path = project_dir / file.path
        if file.after is None:
            path.unlink(missing_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(file.after.encode("utf-8"))
