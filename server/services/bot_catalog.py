"""The bot's Rasa project as the console's Bot area reads it (issue 19, read-only): intents
with their examples per language, responses, and rules and stories as step lists with the
file and line that define them.

Everything comes from the project's files on disk as the studio saved them (every save is
checked as the engine loads a project), so an edit shows at once, before the retrained model
serves; when the files hold a broken edit made outside the console, from the project the
serving model was trained from. Another
engine (Rasa over HTTP, or none) has no project here: the lists are empty and say its kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from nlu import language as language_detection
from nlu.actions import HANDOFF_ACTION
from nlu.base import Interpreter
from nlu.embedded import EmbeddedInterpreter
from nlu.project import (
    Project,
    ProjectError,
    fingerprint,
    load_project,
    project_files,
    read_yaml,
)
from nlu.sources import line_of
from nlu.stories import NOT_SET, Flow, Step
from web_console.bot_views import (
    ConditionView,
    ExampleView,
    FlowList,
    FlowView,
    IntentDetail,
    IntentList,
    IntentRow,
    ResponseList,
    ResponseView,
    StepView,
    VariationView,
)


@dataclass(frozen=True, slots=True)
class Catalog:
    """One project's views, built once per trained fingerprint."""

    fingerprint: str
    intents: IntentList
    examples: dict[str, list[ExampleView]]
    responses: ResponseList
    flows: FlowList
    # The domain's slots, forms and custom actions (read-only in the console).
    domain: dict[str, Any] = dataclasses.field(default_factory=dict)


class BotCatalog:
    """Reads the serving project; keeps the last one built (the model changes on reload)."""

    def __init__(self, interpreter: Interpreter | None, human_intents: frozenset[str]) -> None:
        self._interpreter = interpreter
        # SWITCHBOARD_BOT_HUMAN_INTENTS: routing hands these to a person whatever the bot says.
        self._human_intents = human_intents
        self._built: Catalog | None = None
        self._lock = asyncio.Lock()

    @property
    def kind(self) -> str:
        return "none" if self._interpreter is None else self._interpreter.kind

    async def catalog(self) -> Catalog | None:
        interpreter = self._interpreter
        if not isinstance(interpreter, EmbeddedInterpreter):
            return None
        model = interpreter.model
        async with self._lock:
            # The files on disk, as the studio saves them (a save is checked as the engine
            # loads it), even before the retrained model serves; files broken by an edit made
            # outside the console: the serving model's project.
            try:
                current = await asyncio.to_thread(fingerprint, interpreter.root)
            except OSError:
                current = model.project.fingerprint
            if self._built is None or self._built.fingerprint != current:
                project = model.project
                if current != project.fingerprint:
                    with contextlib.suppress(ProjectError):
                        project = await asyncio.to_thread(load_project, interpreter.root)
                # Detecting each example's language takes lingua about a millisecond: off the loop.
                built = await asyncio.to_thread(
                    build, project, model.languages, self._human_intents
                )
                # Kept under the files' fingerprint: broken files are not read again each time.
                self._built = dataclasses.replace(built, fingerprint=current)
            return self._built

    async def intents(self) -> IntentList:
        found = await self.catalog()
        return found.intents if found else {"kind": self.kind, "languages": [], "intents": []}

    async def intent(self, name: str) -> IntentDetail | None:
        found = await self.catalog()
        if found is None or name not in found.examples:
            return None
        row = next(r for r in found.intents["intents"] if r["name"] == name)
        return {
            "name": name,
            "handoff": row["handoff"],
            "handoff_why": row["handoff_why"],
            "examples": found.examples[name],
        }

    async def responses(self) -> ResponseList:
        found = await self.catalog()
        return found.responses if found else {"kind": self.kind, "responses": []}

    async def flows(self) -> FlowList:
        found = await self.catalog()
        return found.flows if found else {"kind": self.kind, "flows": []}

    async def domain(self) -> dict[str, Any]:
        """The slots (type, mappings), forms (required slots) and custom actions, each action
        with what runs it: Switchboard itself, the action server, or nobody (the engine hands
        the conversation to a person when it reaches it)."""
        found = await self.catalog()
        interpreter = self._interpreter
        if found is None or not isinstance(interpreter, EmbeddedInterpreter):
            empty = {"slots": [], "forms": [], "actions": [], "action_server": False}
            return {"kind": self.kind, **empty}
        actions = [
            {"name": name, "runs": interpreter.runner_of(name)} for name in found.domain["actions"]
        ]
        return {
            **found.domain,
            "action_server": interpreter.has_action_server,
            "actions": actions,
        }


def build(project: Project, languages: frozenset[str], human: frozenset[str]) -> Catalog:
    default = str(project.config.get("language") or "en")
    detector = language_detection.shared()

    def language_of(text: str) -> str:
        # Too short to tell in general ("hi"): the likeliest of the bot's languages; else the
        # project's own language, which is what Rasa assumes of every example.
        found = detector.detect(text).language
        if found not in languages:
            found = detector.best_among(text, languages)
        return found or default

    examples: dict[str, list[ExampleView]] = {name: [] for name in project.intents}
    for example in project.examples:
        examples.setdefault(example.intent, []).append(
            {
                "text": example.text,
                "language": language_of(example.text),
                "entities": [
                    {
                        "start": s.start,
                        "end": s.end,
                        "entity": s.entity,
                        "value": s.value,
                        "role": s.role,
                        "group": s.group,
                    }
                    for s in example.entities
                ],
            }
        )
    why = handoff_reasons(project.flows, human)
    rows: list[IntentRow] = []
    for name, shown in examples.items():
        counts = Counter(e["language"] for e in shown)
        reasons = why.get(name, [])
        rows.append(
            {
                "name": name,
                "examples": dict(sorted(counts.items())),
                "total": len(shown),
                "handoff": bool(reasons),
                "handoff_why": reasons,
            }
        )
    where = flow_lines(project)
    return Catalog(
        project.fingerprint,
        {"kind": "embedded", "languages": sorted(languages), "intents": rows},
        examples,
        {"kind": "embedded", "responses": response_views(project, default)},
        {"kind": "embedded", "flows": [flow_view(f, where) for f in project.flows]},
        domain_view(project),
    )


def domain_view(project: Project) -> dict[str, Any]:
    """The domain's slots, forms and custom actions as the console lists them."""
    slots = [
        {
            "name": slot.name,
            "type": slot.type,
            "values": list(slot.values),
            "influence_conversation": slot.influence,
            "initial_value": _plain(slot.initial),
            "mappings": [
                {
                    "type": m.type,
                    "entity": m.entity,
                    "role": m.role,
                    "group": m.group,
                    "intents": list(m.intents),
                    "not_intents": list(m.not_intents),
                    "value": _plain(m.value),
                    "conditions": [
                        {"active_loop": loop, "requested_slot": slot} for loop, slot in m.conditions
                    ],
                }
                for m in slot.mappings
            ],
        }
        for slot in project.slots
    ]
    forms = [
        {
            "name": f.name,
            "required_slots": list(f.required),
            "ignored_intents": list(f.ignored_intents),
        }
        for f in project.forms.values()
    ]
    # A form's validate_<form> is a custom action too, when the domain lists it.
    actions = [a for a in dict.fromkeys(project.actions) if not a.startswith("utter_")]
    return {"kind": "embedded", "slots": slots, "forms": forms, "actions": actions}


def _plain(value: Any) -> Any:
    """A YAML value as JSON can carry it (a date or a set as its text)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def handoff_reasons(flows: list[Flow], human: frozenset[str]) -> dict[str, list[str]]:
    """Why each intent brings in a person: routing's list, or a rule or story that runs
    action_handoff after it (before the customer speaks again)."""
    reasons: dict[str, list[str]] = {
        name: ["SWITCHBOARD_BOT_HUMAN_INTENTS names it"] for name in sorted(human)
    }
    for flow in flows:
        intent: str | None = None
        for step in flow.steps:
            if step.kind == "intent":
                intent = step.name
            elif step.kind == "action" and step.name == HANDOFF_ACTION and intent:
                said = f"{'rule' if flow.is_rule else 'story'} {flow.name!r} runs {HANDOFF_ACTION}"
                if said not in reasons.setdefault(intent, []):
                    reasons[intent].append(said)
    return reasons


def response_views(project: Project, default: str) -> list[ResponseView]:
    shown: list[ResponseView] = []
    for name, variations in project.responses.items():
        views: list[VariationView] = []
        for variation in variations:
            conditions: list[ConditionView] = [
                {"slot": slot, "value": None if value is None else str(value)}
                for slot, value in variation.conditions
            ]
            language = next((c["value"] for c in conditions if c["slot"] == "language"), None)
            views.append(
                {
                    "language": language or default,
                    "text": variation.text,
                    "buttons": [
                        {"title": b.title, "payload": b.payload} for b in variation.buttons
                    ],
                    "image": variation.image,
                    "custom": variation.custom is not None,
                    "conditions": conditions,
                }
            )
        shown.append({"name": name, "variations": views})
    return shown


def flow_lines(project: Project) -> dict[tuple[bool, str], tuple[str, int | None]]:
    """Where each rule and story is written (file relative to the project, line). Read from
    the files the model was trained from; a file edited since may have moved a line."""
    where: dict[tuple[bool, str], tuple[str, int | None]] = {}
    for path in project_files(project.root):
        if not path.is_file() or project.root / "config.yml" == path:
            continue
        try:
            document = read_yaml(path)
        except ProjectError:
            continue  # a broken edit: the model that serves predates it
        if not isinstance(document, dict):
            continue
        for key, is_rule in (("rules", True), ("stories", False)):
            items = document.get(key)
            for item in items if isinstance(items, list) else []:
                label = "rule" if is_rule else "story"
                if isinstance(item, dict) and label in item:
                    relative = str(Path(path).relative_to(project.root))
                    where.setdefault((is_rule, str(item[label])), (relative, line_of(item)))
    return where


def flow_view(flow: Flow, where: dict[tuple[bool, str], tuple[str, int | None]]) -> FlowView:
    # A story joined at a checkpoint is named "first > next": it is written where it starts.
    path, line = where.get((flow.is_rule, flow.name.split(" > ")[0]), (None, None))
    return {
        "kind": "rule" if flow.is_rule else "story",
        "name": flow.name,
        "path": path,
        "line": line,
        "conditions": [step_view(s) for s in flow.conditions],
        "steps": [step_view(s) for s in flow.steps],
        "conversation_start": flow.conversation_start,
        "wait_for_user_input": flow.wait_for_user_input,
    }


STEP_KINDS: dict[str, Literal["intent", "action", "slot", "loop"]] = {
    "intent": "intent",
    "action": "action",
    "slot": "slot",
    "loop": "loop",
}


def step_view(step: Step) -> StepView:
    # A rule's ``slot: null`` (NOT_SET) and a story's null value both read "not set".
    value = None if step.value is None or step.value == NOT_SET else str(step.value)
    return {
        "kind": STEP_KINDS[step.kind],  # nlu.stories makes only these four
        "name": step.name,
        "entities": list(step.entities),
        "value": value,
    }
