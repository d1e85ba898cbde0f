"""A Rasa domain's slots (their types, featurisation and mappings) and forms (their required
slots), with the mappings the embedded engine does not fill named."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlu.sources import ProjectError, line_of

if TYPE_CHECKING:
    from nlu.project import Project

# The slot Switchboard fills with the customer's language, in both engines.
LANGUAGE_SLOT = "language"


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
    action: str | None = None  # a custom mapping's action, which Rasa runs after each message


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


def read_forms(project: Project, path: Path, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise ProjectError(path, None, "'forms' must be a mapping")
    for name, spec in value.items():
        spec = spec or {}
        required = spec.get("required_slots") or []
        if isinstance(required, dict):  # the Rasa 2 form with mappings inside the form
            raise ProjectError(
                path, line_of(spec), f"form {name}: required_slots must be a list (Rasa 3)"
            )
        ignored = spec.get("ignored_intents") or []
        project.forms[str(name)] = Form(
            str(name),
            tuple(str(s) for s in required),
            tuple(str(i) for i in ([ignored] if isinstance(ignored, str) else ignored)),
        )


def read_slots(project: Project, path: Path, value: Any) -> None:
    if not isinstance(value, dict):
        raise ProjectError(path, None, "'slots' must be a mapping")
    for name, spec in value.items():
        spec = spec or {}
        raw = [m for m in spec.get("mappings") or [] if isinstance(m, dict)]
        for given in raw:
            _check_mapping(path, str(name), given)
        mappings = tuple(_mapping(m) for m in raw)
        for mapping in mappings:
            unsupported = _unsupported_mapping(mapping)
            # Switchboard itself sets a slot named language (the customer's), as its Rasa
            # client does: a custom mapping there is filled.
            if unsupported and name != LANGUAGE_SLOT:
                project.note(path, line_of(spec), f"slot {name}: {unsupported[0]}", unsupported[1])
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


# The keys a mapping of each type must give a value, as Rasa 3.6's SlotMapping.validate
# requires them: without one the domain does not load (InvalidDomain; `rasa train` and
# `rasa data validate` end with "Encountered empty domain during validation", exit 1), so
# whatever the engine did with the mapping would be no behaviour of Rasa's.
REQUIRED_KEYS = {"from_entity": "entity", "from_intent": "value", "from_trigger_intent": "value"}


def _check_mapping(path: Path, slot: str, spec: dict[str, Any]) -> None:
    """Refuse a mapping Rasa refuses: ``value: null`` (or none) on a from_intent mapping
    does not clear the slot in Rasa, it stops the domain from loading."""
    kind = str(spec.get("type"))
    key = REQUIRED_KEYS.get(kind)
    if key is not None and spec.get(key) is None:
        raise ProjectError(
            path,
            line_of(spec),
            f"slot {slot}: a {kind} mapping needs a value for '{key}'"
            " (Rasa 3.6 refuses the domain too)",
        )


def _unsupported_mapping(mapping: SlotMapping) -> tuple[str, str] | None:
    """What a slot mapping asks for that the engine does not do, and what it does instead.
    A custom mapping without an action is what Rasa does too: only actions fill the slot."""
    if mapping.type == "custom":
        if mapping.action is None:
            return None
        return (
            f"custom mapping action {mapping.action}",
            "runs on the action server (SWITCHBOARD_ACTION_SERVER_URL) after each message;"
            " without one, the slot is filled only by the slot events your actions return",
        )
    if mapping.type not in ("from_entity", "from_text", "from_intent", "from_trigger_intent"):
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
        action=str(spec["action"]) if spec.get("action") else None,
    )
