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

from nlu.base import Button
from nlu.markup import Example, parse_example
from nlu.slots import Form, Slot, read_forms, read_slots
from nlu.sources import ProjectError as ProjectError
from nlu.sources import line_of
from nlu.sources import read_yaml as read_yaml
from nlu.stories import Flow, read_flow, stitch
from nlu.support import audit_config
from nlu.used_entities import IntentEntities, intent_entities

YAML_SUFFIXES = (".yml", ".yaml")
# A project's own session start (a customer's profile loaded into slots): it runs on the
# action server; without one, what the engine does instead is named.
SESSION_START = "action_session_start"
SESSION_START_INSTEAD = (
    "runs on the action server (SWITCHBOARD_ACTION_SERVER_URL) before a conversation's first"
    " message; without one, conversations start from the domain's initial slots"
)
# Rasa's global slot validation (rasa-sdk's ValidationAction), which it calls after each
# message when the domain lists it.
VALIDATE_SLOT_MAPPINGS = "action_validate_slot_mappings"
# The project's own actions that only an action server runs, and what happens without one.
ACTION_SERVER_ONLY = {
    SESSION_START: SESSION_START_INSTEAD,
    VALIDATE_SLOT_MAPPINGS: (
        "runs on the action server (SWITCHBOARD_ACTION_SERVER_URL) after each message, on the"
        " slots it filled; without one, the slots stand as extracted"
    ),
}
# The project Switchboard ships (its demo bot), beside this package.
SHIPPED_PROJECT = Path(__file__).parent / "rasa_project"


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
    channel: str | None = None  # said only on that output channel (Rasa's ``channel:``)


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
    # The domain's entity roles and groups as Rasa's dialogue states name them ("city#from").
    entity_labels: set[str] = field(default_factory=set)
    # What the domain says of the entities each intent's dialogue states keep.
    intent_entities: dict[str, IntentEntities] = field(default_factory=dict)
    unfeaturized_entities: set[str] = field(default_factory=set)  # influence_conversation: false
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
    project.flows = stitch(project.flows)
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
                project.flows += read_flow(project, path, item, is_rule=key == "rules")
        elif key == "intents":
            for item in _as_list(path, document, key, value):
                name = next(iter(item)) if isinstance(item, dict) else item
                project.intents.append(str(name))
                spec = item.get(name) if isinstance(item, dict) else None
                if isinstance(spec, dict):
                    project.intent_entities[str(name)] = intent_entities(spec)
        elif key == "entities":
            for item in _as_list(path, document, key, value):
                name = next(iter(item)) if isinstance(item, dict) else item
                project.entities.append(str(name))
                spec = item.get(name) if isinstance(item, dict) else None
                if isinstance(spec, dict):
                    for label in [*(spec.get("roles") or []), *(spec.get("groups") or [])]:
                        project.entity_labels.add(f"{name}#{label}")
                    if spec.get("influence_conversation") is False:
                        project.unfeaturized_entities.add(str(name))
        elif key == "slots":
            read_slots(project, path, value)
        elif key == "responses":
            _read_responses(project, path, value)
        elif key == "forms":
            read_forms(project, path, value)
        elif key == "actions":
            for item in _as_list(path, document, key, value):
                name = next(iter(item)) if isinstance(item, dict) else item
                project.actions.append(str(name))
                if name in ACTION_SERVER_ONLY:
                    project.note(
                        path,
                        _line_naming(path, str(name)),
                        f"custom {name}",
                        ACTION_SERVER_ONLY[str(name)],
                    )


def _line_naming(path: Path, name: str) -> int | None:
    """The line of a list entry (``- name``), which YAML does not remember."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip().removeprefix("-").strip() == name:
            return number
    return None


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
        raise ProjectError(path, line_of(parent), f"'{key}' must be a list")
    return value


def read_nlu_items(project: Project, path: Path, items: list[Any]) -> None:
    """Add the items of an ``nlu:`` section (intents, regexes, lookups, synonyms)."""
    for item in items:
        if not isinstance(item, dict):
            raise ProjectError(path, None, f"an nlu item must be a mapping, got {item!r}")
        line = line_of(item)
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
                    path, line_of(item), f"an example must start with '- ', got {stripped!r}"
                )
            yield stripped[2:].strip()
    elif isinstance(examples, list):
        for entry in examples:
            text = entry.get("text") if isinstance(entry, dict) else entry
            if not isinstance(text, str):
                raise ProjectError(path, line_of(item), f"an example needs a text, got {entry!r}")
            yield text.strip()
    elif examples is not None:
        raise ProjectError(path, line_of(item), "'examples' must be a block of '- ' lines")


def _read_responses(project: Project, path: Path, value: Any) -> None:
    if not isinstance(value, dict):
        raise ProjectError(path, None, "'responses' must be a mapping")
    for name, variations in value.items():
        if not isinstance(variations, list):
            raise ProjectError(path, line_of(value), f"response {name} must be a list")
        parsed = []
        for variation in variations:
            if not isinstance(variation, dict):
                raise ProjectError(path, line_of(value), f"response {name}: bad variation")
            conditions = tuple(
                (str(c.get("name")), c.get("value"))
                for c in variation.get("condition") or []
                if isinstance(c, dict) and c.get("type") == "slot"
            )
            text = variation.get("text")
            custom = variation.get("custom")
            image = variation.get("image")
            channel = variation.get("channel")
            parsed.append(
                Response(
                    str(text) if text is not None else None,
                    dict(custom) if isinstance(custom, dict) else None,
                    conditions,
                    buttons=buttons_of(variation.get("buttons")),
                    image=str(image) if image else None,
                    channel=str(channel) if channel else None,
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
