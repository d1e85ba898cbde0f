"""Editing a rule or a story as a list of steps (issue 19): the customer's intent, the bot's
action, a slot set, a form looping. Only the item's own lines are rewritten (see
``nlu.yaml_splice``); a rule's other keys (``condition``, ``conversation_start``,
``wait_for_user_input``) are kept. What a step list cannot say (``or:``, checkpoints, an
intent's entities) is left to the YAML view: such an item is refused, never flattened."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from nlu.project_writer import (
    NAME,
    AlreadyThere,
    BadEdit,
    Change,
    Draft,
    UnknownItem,
    with_blank_after,
)
from nlu.yaml_splice import YamlText

FlowKind = Literal["rule", "story"]
SECTION = {"rule": "rules", "story": "stories"}
NEW_FILE = {"rule": "data/rules.yml", "story": "data/stories.yml"}


@dataclass(frozen=True, slots=True)
class FlowStep:
    """``intent`` (the customer says), ``action`` (the bot does), ``slot`` (``name`` set to
    ``value``; None: not set) or ``loop`` (a form's ``name``; "" ends the loop)."""

    kind: Literal["intent", "action", "slot", "loop"]
    name: str
    value: str | None = None


def _raw(step: FlowStep) -> CommentedMap:
    out = CommentedMap()
    if step.kind in ("intent", "action"):
        if not NAME.match(step.name):
            raise BadEdit(f"bad {step.kind} name {step.name!r}")
        out[step.kind] = step.name
    elif step.kind == "slot":
        if not NAME.match(step.name):
            raise BadEdit(f"bad slot name {step.name!r}")
        slot = CommentedMap()
        slot[step.name] = step.value
        out["slot_was_set"] = CommentedSeq([slot])
    else:
        out["active_loop"] = step.name or None
    return out


def _simple(item: CommentedMap) -> bool:
    """Whether a step list says all the item's steps (no or:, checkpoint or entities)."""
    for step in item.get("steps") or []:
        if not isinstance(step, dict) or len(step) != 1:
            return False
        key = next(iter(step))
        if key not in ("intent", "action", "slot_was_set", "active_loop"):
            return False
    return True


def _flows(draft: Draft, kind: FlowKind, name: str) -> Iterator[tuple[str, CommentedSeq, int]]:
    for relative in draft.data_files():
        doc = draft.file(relative).doc
        items = doc.get(SECTION[kind]) if isinstance(doc, CommentedMap) else None
        if isinstance(items, CommentedSeq):
            for index, item in enumerate(items):
                if isinstance(item, CommentedMap) and str(item.get(kind)) == name:
                    yield relative, items, index


def _render_item(yt: YamlText, value: CommentedMap, dash: int, offset: int) -> list[str]:
    lines = yt.render(value, 0, offset)
    pad = " " * dash
    return [pad + "- " + lines[0], *(pad + "  " + line if line else line for line in lines[1:])]


def _steps_offset(yt: YamlText, items: CommentedSeq) -> int:
    """How the file indents a step list under ``steps:`` (0 or 2)."""
    for item in items:
        steps = item.get("steps") if isinstance(item, CommentedMap) else None
        if isinstance(steps, CommentedSeq) and steps:
            return yt.sequence_offset(item, "steps")
    return 0


def set_flow(
    project_dir: Path,
    kind: FlowKind,
    name: str,
    steps: Sequence[FlowStep],
    *,
    original: str | None = None,
) -> Change:
    """Write the rule or story ``name`` with ``steps``: in place of ``original`` (its name
    before, when editing one), else added after the file's last one."""
    name = name.strip()
    if not name or "\n" in name:
        raise BadEdit(f"a {kind} needs a one-line name")
    if not steps:
        raise BadEdit(f"a {kind} needs at least one step")
    draft = Draft(project_dir.resolve())
    if (original is None or name != original) and any(True for _ in _flows(draft, kind, name)):
        raise AlreadyThere(f"a {kind} named {name!r} exists already")
    value = CommentedMap()
    value[kind] = name
    raw_steps = CommentedSeq([_raw(s) for s in steps])
    if original is not None:
        found = next(_flows(draft, kind, original), None)
        if found is None:
            raise UnknownItem(f"no {kind} named {original!r} in the data files")
        relative, items, index = found
        item = items[index]
        if not _simple(item):
            line = item.lc.line + 1
            raise AlreadyThere(
                f"{kind} {original!r} uses or:, checkpoints or entities: edit it in the YAML view",
                relative,
                line,
            )
        for key, kept in item.items():
            if key not in (kind, "steps"):
                value[key] = kept
        value["steps"] = raw_steps
        # The steps where the item had them (after a rule's condition, say).
        ordered = CommentedMap()
        for key in item:
            ordered[key] = value[key] if key in value else item[key]
        for key in value:
            if key not in ordered:
                ordered[key] = value[key]
        ordered[kind] = name
        with draft.editing(relative) as yt:
            start, end = yt.item_span(items, index)
            new = _render_item(yt, ordered, yt.dash_column(items), _steps_offset(yt, items))
            yt.splice(start, end, new)
            items[index] = ordered
            yt.commit(yt.doc)
        return draft.change(f"edit {kind} {name}")
    value["steps"] = raw_steps
    section = SECTION[kind]
    relative = next(
        (f for f in draft.data_files() if _has(draft.file(f).doc, section)), NEW_FILE[kind]
    )
    with draft.editing(relative) as yt:
        _append(yt, section, value)
    return draft.change(f"add {kind} {name}")


def _has(doc: Any, section: str) -> bool:
    return isinstance(doc, CommentedMap) and isinstance(doc.get(section), CommentedSeq)


def _append(yt: YamlText, section: str, value: CommentedMap) -> None:
    doc = yt.doc
    if not isinstance(doc, CommentedMap):
        yt.splice(0, len(yt.lines), ['version: "3.1"', "", f"{section}:"])
        yt.commit({"version": "3.1", section: None})
        doc = yt.doc
    items = doc.get(section)
    if isinstance(items, CommentedSeq) and items:
        end = yt.item_span(items, len(items) - 1)[1]
        new = _render_item(yt, value, yt.dash_column(items), _steps_offset(yt, items))
        if yt.separated_by_blank(items):
            new = ["", *new]
        yt.splice(end, end, new)
        items.append(value)
    else:
        if section in doc:
            start, end = yt.entry_span(doc, section)
        else:
            start = end = len(yt.lines)
        yt.splice(start, end, [f"{section}:", *_render_item(yt, value, 0, 0)])
        doc[section] = CommentedSeq([value])
    yt.commit(doc)


def delete_flow(project_dir: Path, kind: FlowKind, name: str) -> Change:
    draft = Draft(project_dir.resolve())
    found = next(_flows(draft, kind, name), None)
    if found is None:
        raise UnknownItem(f"no {kind} named {name!r} in the data files")
    relative, items, index = found
    with draft.editing(relative) as yt:
        start, end = with_blank_after(yt, *yt.item_span(items, index))
        yt.splice(start, end, [])
        del items[index]
        if not items:
            yt.doc[SECTION[kind]] = None  # "stories:" with nothing under it reads as null
        yt.commit(yt.doc)
    return draft.change(f"delete {kind} {name}")
