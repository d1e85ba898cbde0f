"""Editing a Rasa 3 project's files the way a person would: an added example is one added line,
and comments, key order, quoting and indentation everywhere else are left as they were (see
``nlu.yaml_splice``), so a team that keeps the project in git sees ordinary diffs.

Every edit is computed, not written: it returns a ``Change`` (each touched file's text before
and after) that the caller checks and writes (``write_change``), or drops. Several edits can
share one ``Draft`` and become one change::

    example = parse_example("where is [10234](order_number)", "order_status")
    write_change(root, add_examples(root, "order_status", [example]))

Errors (``EditError`` and its kinds) and the ``Change`` and ``Draft`` values are defined in
``nlu.project_draft`` and importable from here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from nlu.base import Button
from nlu.markup import Example, Span, parse_example
from nlu.project_draft import ENTITY_NAME, block_lines, set_block
from nlu.project_draft import NAME as NAME
from nlu.project_draft import AlreadyThere as AlreadyThere
from nlu.project_draft import BadEdit as BadEdit
from nlu.project_draft import Change as Change
from nlu.project_draft import Draft as Draft
from nlu.project_draft import EditError as EditError
from nlu.project_draft import FileChange as FileChange
from nlu.project_draft import Stale as Stale
from nlu.project_draft import UnknownItem as UnknownItem
from nlu.project_draft import Unwritable as Unwritable
from nlu.project_draft import with_blank_after as with_blank_after


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
        lines = block_lines(items[index], relative) + new
        with draft.editing(relative) as yt:
            set_block(yt, items[index], lines)
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
        lines = block_lines(items[index], relative)
        at = next((i for i, line in enumerate(lines) if _means(line, old)), None)
        if at is not None:
            if new and new[0] != lines[at] and new[0] in draft.items_of("intent", intent):
                raise AlreadyThere(f"intent {intent} has this example already")
            lines[at : at + 1] = new
            with draft.editing(relative) as yt:
                set_block(yt, items[index], lines)
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
