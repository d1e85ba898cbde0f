"""A Rasa 3 project read from its YAML files: training examples, domain, rules and stories.

Only what Switchboard's embedded engine needs is kept, but the files are read the way Rasa
reads them (``config.yml``, ``domain.yml`` or a ``domain/`` folder, and every YAML file under
``data/``), so any Rasa 3 project loads unchanged. Every mistake is reported as a
``ProjectError`` naming the file and line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nlu.base import Button
from nlu.markup import Example, parse_example
from nlu.support import audit_config

YAML_SUFFIXES = (".yml", ".yaml")
# The project Switchboard ships (its demo bot), beside this package.
SHIPPED_PROJECT = Path(__file__).parent / "rasa_project"


class ProjectError(Exception):
    """The project cannot be loaded; the message names the file and line."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class _Mapping(dict[str, Any]):
    """A YAML mapping that remembers the line it started on (1-based)."""

    line: int = 0


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Mapping:
    mapping = _Mapping({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    mapping.line = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> Any:
    """One YAML file, with syntax errors reported as ProjectError at their line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectError(path, None, f"cannot read: {error}") from error
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ProjectError(path, line, f"invalid YAML: {error.problem or error}") from error
    except yaml.YAMLError as error:
        raise ProjectError(path, None, f"invalid YAML: {error}") from error


def _line(value: Any) -> int | None:
    return value.line if isinstance(value, _Mapping) else None


@dataclass(frozen=True, slots=True)
class Regex:
    name: str
    patterns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Response:
    """One variation of a response; ``conditions`` are (slot, value) pairs that must hold."""

    text: str | None
    custom: dict[str, Any] | None
    conditions: tuple[tuple[str, Any], ...]
    buttons: tuple[Button, ...] = ()
    image: str | None = None


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


@dataclass(frozen=True, slots=True)
class SlotMapping:
    """One of a slot's ``mappings`` (from_entity, from_text, from_intent, from_trigger_intent,
    custom), with its ``conditions`` as (active_loop, requested_slot) pairs."""

    type: str
    entity: str | None = None
    role: str | None = None
    group: str | None = None
    intents: tuple[str, ...] = ()
    not_intents: tuple[str, ...] = ()
    value: Any = None
    conditions: tuple[tuple[str | None, str | None], ...] = ()


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    entities: tuple[str, ...]  # entities whose values fill it (from_entity mappings)
    type: str = "any"
    values: tuple[str, ...] = ()  # a categorical slot's values
    influence: bool = False  # influence_conversation: part of the dialogue's state
    initial: Any = None
    mappings: tuple[SlotMapping, ...] = ()


@dataclass(frozen=True, slots=True)
class Form:
    name: str
    required: tuple[str, ...]
    ignored_intents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unsupported:
    """Something the project asks for that the embedded engine does not do: where (file,
    line), what, and what the engine does instead. Named at training, in /readyz and in the
    console, never silent."""

    path: str  # relative to the project folder
    line: int | None
    feature: str
    instead: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.feature}: {self.instead}"


@dataclass
class Project:
    """Everything the embedded engine trains from, plus the fingerprint of the files."""

    root: Path
    examples: list[Example] = field(default_factory=list)
    regexes: list[Regex] = field(default_factory=list)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)
    intents: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)
    responses: dict[str, list[Response]] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    forms: dict[str, Form] = field(default_factory=dict)
    # The domain as its files say it (merged), which Rasa sends to the action server.
    domain: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    unsupported: list[Unsupported] = field(default_factory=list)

    def note(self, path: Path, line: int | None, feature: str, instead: str) -> None:
        """Name a feature the embedded engine does not run."""
        where = path.relative_to(self.root) if path.is_relative_to(self.root) else path
        self.unsupported.append(Unsupported(str(where), line, feature, instead))

    @property
    def retrieval_intents(self) -> frozenset[str]:
        """The intents whose examples are split into sub-intents (``faq/ask_hours``)."""
        return frozenset(e.intent.split("/", 1)[0] for e in self.examples if "/" in e.intent)

    def component(self, name: str) -> dict[str, Any]:
        """The options of a pipeline component or policy named in config.yml ({} if absent)."""
        for section in ("pipeline", "policies"):
            for item in self.config.get(section) or []:
                if isinstance(item, dict) and item.get("name") == name:
                    return dict(item)
        return {}


def project_files(root: Path) -> list[Path]:
    """The YAML files that define the project, in a stable order."""
    files = [root / "config.yml"]
    domain_dir = root / "domain"
    if domain_dir.is_dir():
        files += sorted(p for p in domain_dir.rglob("*") if p.suffix in YAML_SUFFIXES)
    else:
        files.append(root / "domain.yml")
    data = root / "data"
    if data.is_dir():
        files += sorted(p for p in data.rglob("*") if p.suffix in YAML_SUFFIXES)
    return files


def fingerprint(root: Path) -> str:
    """A hash of the project's files: a model trained from them is reused while it matches."""
    digest = hashlib.sha256()
    for path in project_files(root):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def load_project(root: Path) -> Project:
    """Read a Rasa 3 project folder; raises ProjectError at the first mistake."""
    root = root.resolve()
    if not root.is_dir():
        raise ProjectError(root, None, "no such project folder")
    project = Project(root=root, fingerprint=fingerprint(root))
    config_path = root / "config.yml"
    if config_path.is_file():
        config = read_yaml(config_path)
        if config is not None and not isinstance(config, dict):
            raise ProjectError(config_path, 1, "config.yml must be a mapping")
        project.config = dict(config or {})
    files = project_files(root)[1:]
    if not any(p.is_file() for p in files):
        raise ProjectError(root, None, "no domain.yml and no data/ folder: not a Rasa project")
    for path in files:
        if not path.is_file():
            continue
        document = read_yaml(path)
        if document is None:
            continue
        if not isinstance(document, dict):
            raise ProjectError(path, 1, "expected a mapping at the top of the file")
        _read_document(project, path, document)
    if not project.examples:
        raise ProjectError(root / "data", None, "no NLU training examples found")
    audit_config(project, config_path)
    known = set(project.intents)
    for example in project.examples:
        if example.intent not in known:
            project.intents.append(example.intent)
            known.add(example.intent)
    return project


DOMAIN_KEYS = ("intents", "entities", "slots", "responses", "actions", "forms", "session_config")


def _read_document(project: Project, path: Path, document: dict[str, Any]) -> None:
    for key, value in document.items():
        if key in DOMAIN_KEYS and value:
            _merge_domain(project.domain, key, json.loads(json.dumps(value, default=str)))
        if key == "nlu":
            read_nlu_items(project, path, _as_list(path, document, key, value))
        elif key in ("stories", "rules"):
            for item in _as_list(path, document, key, value):
                project.flows += _read_flow(project, path, item, is_rule=key == "rules")
        elif key == "intents":
            for item in _as_list(path, document, key, value):
                name = next(iter(item)) if isinstance(item, dict) else item
                project.intents.append(str(name))
        elif key == "entities":
            for item in _as_list(path, document, key, value):
                name = next(iter(item)) if isinstance(item, dict) else item
                project.entities.append(str(name))
        elif key == "slots":
            _read_slots(project, path, value)
        elif key == "responses":
            _read_responses(project, path, value)
        elif key == "forms":
            _read_forms(project, path, value)
        elif key == "actions":
            for item in _as_list(path, document, key, value):
                name = next(iter(item)) if isinstance(item, dict) else item
                project.actions.append(str(name))


def _merge_domain(domain: dict[str, Any], key: str, value: Any) -> None:
    known = domain.get(key)
    if isinstance(known, list) and isinstance(value, list):
        known.extend(value)
    elif isinstance(known, dict) and isinstance(value, dict):
        known.update(value)
    else:
        domain[key] = value


def _as_list(path: Path, parent: Any, key: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ProjectError(path, _line(parent), f"'{key}' must be a list")
    return value


def read_nlu_items(project: Project, path: Path, items: list[Any]) -> None:
    """Add the items of an ``nlu:`` section (intents, regexes, lookups, synonyms)."""
    for item in items:
        if not isinstance(item, dict):
            raise ProjectError(path, None, f"an nlu item must be a mapping, got {item!r}")
        line = _line(item)
        lines = list(_example_lines(path, item))
        if "intent" in item:
            intent = str(item["intent"])
            for text in lines:
                try:
                    example = parse_example(text, intent)
                except ValueError as error:
                    raise ProjectError(path, line, f"intent {intent}: {error}") from error
                project.examples.append(example)
                # An annotated value with another canonical value is a synonym, as in Rasa.
                for entity in example.entities:
                    if entity.value != entity.text:
                        project.synonyms[entity.text.lower()] = entity.value
        elif "regex" in item:
            project.regexes.append(Regex(str(item["regex"]), tuple(lines)))
        elif "lookup" in item:
            project.lookups.setdefault(str(item["lookup"]), []).extend(lines)
        elif "synonym" in item:
            for text in lines:
                project.synonyms[text.lower()] = str(item["synonym"])
        else:
            raise ProjectError(path, line, "nlu item needs one of intent, regex, lookup, synonym")


def _example_lines(path: Path, item: dict[str, Any]) -> Iterator[str]:
    examples = item.get("examples")
    if isinstance(examples, str):
        for raw in examples.splitlines():
            stripped = raw.strip()
            if not stripped:
                continue
            if not stripped.startswith("- "):
                raise ProjectError(
                    path, _line(item), f"an example must start with '- ', got {stripped!r}"
                )
            yield stripped[2:].strip()
    elif isinstance(examples, list):
        for entry in examples:
            text = entry.get("text") if isinstance(entry, dict) else entry
            if not isinstance(text, str):
                raise ProjectError(path, _line(item), f"an example needs a text, got {entry!r}")
            yield text.strip()
    elif examples is not None:
        raise ProjectError(path, _line(item), "'examples' must be a block of '- ' lines")


def _read_flow(project: Project, path: Path, item: Any, *, is_rule: bool) -> list[Flow]:
    """A rule or story, as one Flow per combination of its ``or:`` alternatives."""
    kind = "rule" if is_rule else "story"
    if not isinstance(item, dict) or kind not in item:
        raise ProjectError(path, _line(item), f"each entry needs a '{kind}' name")
    name = str(item[kind])
    conditions: list[Step] = []
    for condition in item.get("condition") or []:
        conditions += _plain_steps(project, path, name, condition, in_rule=is_rule)
    alternatives: list[list[Step]] = [[]]
    for step in item.get("steps") or []:
        if not isinstance(step, dict):
            raise ProjectError(path, _line(item), f"{kind} {name!r}: bad step {step!r}")
        if "or" in step:
            choices = [
                _plain_steps(project, path, name, choice, in_rule=is_rule)
                for choice in step["or"] or []
            ]
            alternatives = [done + choice for done in alternatives for choice in choices]
        elif "user" in step:
            project.note(
                path,
                _line(step),
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
        )
        for steps in alternatives
    ]


def _plain_steps(
    project: Project, path: Path, flow: str, step: Any, *, in_rule: bool
) -> list[Step]:
    if not isinstance(step, dict):
        raise ProjectError(path, None, f"{flow!r}: bad step {step!r}")
    if "intent" in step:
        names = []
        for entity in step.get("entities") or []:
            names.append(str(next(iter(entity)) if isinstance(entity, dict) else entity))
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
        _line(step),
        f"{flow!r}: '{feature}' step",
        "skipped: the rest of the story is followed as if it were not there",
    )
    return []


def _read_forms(project: Project, path: Path, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise ProjectError(path, None, "'forms' must be a mapping")
    for name, spec in value.items():
        spec = spec or {}
        required = spec.get("required_slots") or []
        if isinstance(required, dict):  # the Rasa 2 form with mappings inside the form
            raise ProjectError(
                path, _line(spec), f"form {name}: required_slots must be a list (Rasa 3)"
            )
        ignored = spec.get("ignored_intents") or []
        project.forms[str(name)] = Form(
            str(name),
            tuple(str(s) for s in required),
            tuple(str(i) for i in ([ignored] if isinstance(ignored, str) else ignored)),
        )


def _read_slots(project: Project, path: Path, value: Any) -> None:
    if not isinstance(value, dict):
        raise ProjectError(path, None, "'slots' must be a mapping")
    for name, spec in value.items():
        spec = spec or {}
        mappings = tuple(_mapping(m) for m in spec.get("mappings") or [] if isinstance(m, dict))
        for mapping in mappings:
            unsupported = _unsupported_mapping(mapping)
            if unsupported:
                project.note(path, _line(spec), f"slot {name}: {unsupported[0]}", unsupported[1])
        kind = str(spec.get("type") or "any")
        influence = spec.get("influence_conversation")
        project.slots.append(
            Slot(
                str(name),
                tuple(m.entity for m in mappings if m.type == "from_entity" and m.entity),
                type=kind,
                values=tuple(str(v).lower() for v in spec.get("values") or []),
                # Rasa's default: every slot but an ``any`` slot shapes the dialogue.
                influence=kind != "any" if influence is None else bool(influence),
                initial=spec.get("initial_value"),
                mappings=mappings,
            )
        )


def _unsupported_mapping(mapping: SlotMapping) -> tuple[str, str] | None:
    """What a slot mapping asks for that the engine does not do, and what it does instead."""
    if mapping.type == "from_trigger_intent":
        return "from_trigger_intent mapping", "not filled when the form starts"
    if mapping.type == "custom":
        return "custom mapping", "filled only by the slot events your actions return"
    if mapping.type == "from_entity" and (mapping.role or mapping.group):
        return (
            "from_entity mapping with an entity role or group",
            "never filled: the engine does not extract roles or groups",
        )
    if mapping.type not in ("from_entity", "from_text", "from_intent"):
        return f"{mapping.type} mapping", "not filled"
    return None


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)


def _mapping(spec: dict[str, Any]) -> SlotMapping:
    conditions = tuple(
        (c.get("active_loop"), c.get("requested_slot"))
        for c in spec.get("conditions") or []
        if isinstance(c, dict)
    )
    return SlotMapping(
        type=str(spec.get("type")),
        entity=str(spec["entity"]) if spec.get("entity") else None,
        role=spec.get("role"),
        group=spec.get("group"),
        intents=_names(spec.get("intent")),
        not_intents=_names(spec.get("not_intent")),
        value=spec.get("value"),
        conditions=conditions,
    )


def _read_responses(project: Project, path: Path, value: Any) -> None:
    if not isinstance(value, dict):
        raise ProjectError(path, None, "'responses' must be a mapping")
    for name, variations in value.items():
        if not isinstance(variations, list):
            raise ProjectError(path, _line(value), f"response {name} must be a list")
        parsed = []
        for variation in variations:
            if not isinstance(variation, dict):
                raise ProjectError(path, _line(value), f"response {name}: bad variation")
            conditions = tuple(
                (str(c.get("name")), c.get("value"))
                for c in variation.get("condition") or []
                if isinstance(c, dict) and c.get("type") == "slot"
            )
            text = variation.get("text")
            custom = variation.get("custom")
            image = variation.get("image")
            parsed.append(
                Response(
                    str(text) if text is not None else None,
                    dict(custom) if isinstance(custom, dict) else None,
                    conditions,
                    buttons=buttons_of(variation.get("buttons")),
                    image=str(image) if image else None,
                )
            )
        project.responses[str(name)] = parsed


def buttons_of(value: Any) -> tuple[Button, ...]:
    """Rasa's ``buttons: [{title, payload}]`` (in a domain response or the REST channel's
    answer); entries without a title are skipped, a missing payload is the title."""
    if not isinstance(value, list):
        return ()
    return tuple(
        Button(str(b["title"]), str(b.get("payload") or b["title"]))
        for b in value
        if isinstance(b, dict) and b.get("title")
    )
