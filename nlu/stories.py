"""A Rasa project's rules and stories: their steps (messages, actions, slots set, loops), a
rule's conditions, and one flow per alternative of their ``or:`` steps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlu.sources import ProjectError, line_of

if TYPE_CHECKING:
    from nlu.project import Project


@dataclass(frozen=True, slots=True)
class Step:
    """A story or rule step: a user turn (intent and entity names), a bot action, a slot set
    (``slot_was_set``) or a loop (``active_loop``; ``name`` "" is ``null``)."""

    kind: str  # "intent", "action", "slot" or "loop"
    name: str
    entities: tuple[str, ...] = ()
    value: Any = None  # a slot step's value; NOT_SET for ``- slot: null`` in a rule


# A rule's ``slot: null`` or ``active_loop: null``: the slot (loop) must not be set.
NOT_SET = "__should_not_be_set__"
# A story's ``slot_was_set: [- name]`` with no value: set to anything (Rasa's own default).
FILLED = "filled"


@dataclass(frozen=True, slots=True)
class Flow:
    """A rule or a story: a named sequence of steps (one per alternative of its ``or:``
    steps). A rule's ``condition:`` steps hold before its first step."""

    name: str
    steps: tuple[Step, ...]
    is_rule: bool
    conditions: tuple[Step, ...] = ()
    conversation_start: bool = False
    wait_for_user_input: bool = True
    # A story's checkpoints: it continues a story that ended at one of ``starts_at``, and
    # the stories that start at ``ends_at`` continue it.
    starts_at: tuple[str, ...] = ()
    ends_at: tuple[str, ...] = ()


def read_flow(project: Project, path: Path, item: Any, *, is_rule: bool) -> list[Flow]:
    """A rule or story, as one Flow per combination of its ``or:`` alternatives."""
    kind = "rule" if is_rule else "story"
    if not isinstance(item, dict) or kind not in item:
        raise ProjectError(path, line_of(item), f"each entry needs a '{kind}' name")
    name = str(item[kind])
    conditions: list[Step] = []
    for condition in item.get("condition") or []:
        conditions += _plain_steps(project, path, name, condition, in_rule=is_rule)
    alternatives: list[list[Step]] = [[]]
    raw = list(item.get("steps") or [])
    starts_at = _leading_checkpoints(raw)
    ends_at = _leading_checkpoints(raw[len(starts_at) :][::-1])[::-1]
    for step in raw[len(starts_at) : len(raw) - len(ends_at)]:
        if not isinstance(step, dict):
            raise ProjectError(path, line_of(item), f"{kind} {name!r}: bad step {step!r}")
        if "or" in step:
            choices = [
                _plain_steps(project, path, name, choice, in_rule=is_rule)
                for choice in step["or"] or []
            ]
            alternatives = [done + choice for done in alternatives for choice in choices]
        elif "user" in step:
            project.note(
                path,
                line_of(step),
                f"{kind} {name!r}: end-to-end 'user' step",
                f"the {kind} is left out (its turns are matched by intent only)",
            )
            return []
        else:
            steps = _plain_steps(project, path, name, step, in_rule=is_rule)
            alternatives = [done + steps for done in alternatives]
    return [
        Flow(
            name,
            tuple(steps),
            is_rule,
            tuple(conditions),
            conversation_start=bool(item.get("conversation_start")),
            wait_for_user_input=item.get("wait_for_user_input") is not False,
            starts_at=tuple(starts_at),
            ends_at=tuple(ends_at),
        )
        for steps in alternatives
    ]


def _leading_checkpoints(steps: list[Any]) -> list[str]:
    names = []
    for step in steps:
        if not (isinstance(step, dict) and "checkpoint" in step):
            break
        names.append(str(step["checkpoint"]))
    return names


# How many stories a chain of checkpoints joins, at most (Rasa's story graph unrolls them
# too; a loop of checkpoints stops here).
MAX_LINKS = 4


def stitch(flows: list[Flow]) -> list[Flow]:
    """Stories joined at their checkpoints, as Rasa's story graph joins them: each story that
    does not start at a checkpoint, continued by every story that starts where it ends.
    Rules and stories without checkpoints are kept as they are."""
    by_start: dict[str, list[Flow]] = {}
    for flow in flows:
        for name in flow.starts_at:
            by_start.setdefault(name, []).append(flow)
    joined: list[Flow] = []
    for flow in flows:
        if flow.is_rule or not flow.starts_at:
            joined += _continued(flow, by_start, MAX_LINKS)
    return joined


def _continued(flow: Flow, by_start: dict[str, list[Flow]], links: int) -> list[Flow]:
    following = [f for name in flow.ends_at for f in by_start.get(name, [])]
    if not following or links <= 1:
        return [flow]
    return [
        longer
        for after in following
        for longer in _continued(
            Flow(
                f"{flow.name} > {after.name}",
                flow.steps + after.steps,
                False,
                ends_at=after.ends_at,
            ),
            by_start,
            links - 1,
        )
    ]


def _plain_steps(
    project: Project, path: Path, flow: str, step: Any, *, in_rule: bool
) -> list[Step]:
    if not isinstance(step, dict):
        raise ProjectError(path, None, f"{flow!r}: bad step {step!r}")
    if "intent" in step:
        names = []
        for entity in step.get("entities") or []:
            name = str(next(iter(entity)) if isinstance(entity, dict) else entity)
            names.append(name)
            if isinstance(entity, dict):
                # A role or group is a feature of its own in Rasa's states ("city#from").
                names += [f"{name}#{entity[k]}" for k in ("role", "group") if entity.get(k)]
        return [Step("intent", str(step["intent"]), tuple(names))]
    if "action" in step:
        return [Step("action", str(step["action"]))]
    if "active_loop" in step:
        loop = step["active_loop"]
        return [Step("loop", "" if loop is None else str(loop))]
    if "slot_was_set" in step:
        slots = []
        for entry in step["slot_was_set"] or []:
            if isinstance(entry, dict):
                for slot, value in entry.items():
                    if value is None and in_rule:
                        value = NOT_SET
                    slots.append(Step("slot", str(slot), value=value))
            else:
                slots.append(Step("slot", str(entry), value=FILLED))
        return slots
    feature = next(iter(step), "?")
    project.note(
        path,
        line_of(step),
        f"{flow!r}: '{feature}' step",
        "skipped: the rest of the story is followed as if it were not there",
    )
    return []
