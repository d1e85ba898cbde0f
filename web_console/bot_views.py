"""What the console's Bot area reads of the bot's Rasa project (issue 19, read-only): its
intents with their examples, its responses, and its rules and stories as step lists. The
server builds these from the project the engine loaded (server/services/bot_catalog.py)."""

from __future__ import annotations

from typing import Literal, TypedDict


class IntentRow(TypedDict):
    """An intent, how many examples it has in each language, and whether it hands the
    customer to a person (``handoff_why`` says what makes it so)."""

    name: str
    examples: dict[str, int]  # language -> count
    total: int
    handoff: bool
    handoff_why: list[str]


class IntentList(TypedDict):
    kind: str  # the engine: "embedded", "rasa" or "none" (only "embedded" has a project here)
    languages: list[str]
    intents: list[IntentRow]


class SpanView(TypedDict):
    """An annotated entity: ``start``/``end`` index the example's plain text."""

    start: int
    end: int
    entity: str
    value: str
    role: str | None
    group: str | None


class ExampleView(TypedDict):
    text: str
    language: str
    entities: list[SpanView]


class IntentDetail(TypedDict):
    name: str
    handoff: bool
    handoff_why: list[str]
    examples: list[ExampleView]


class ButtonView(TypedDict):
    title: str
    payload: str


class ConditionView(TypedDict):
    slot: str
    value: str | None


class VariationView(TypedDict):
    """One variation; ``language`` is its ``language`` slot condition, else the project's
    language (the variation said when no other's conditions hold)."""

    language: str
    text: str | None
    buttons: list[ButtonView]
    image: str | None
    custom: bool  # a custom payload (channel-specific JSON), not shown here
    conditions: list[ConditionView]


class ResponseView(TypedDict):
    name: str
    variations: list[VariationView]


class ResponseList(TypedDict):
    kind: str
    responses: list[ResponseView]


class StepView(TypedDict):
    """A step: ``intent`` (with the entity names it carries), ``action``, ``slot`` (``value``
    as text; ``null`` in a rule means "not set") or ``loop`` (``name`` "" is ``null``)."""

    kind: Literal["intent", "action", "slot", "loop"]
    name: str
    entities: list[str]
    value: str | None


class FlowView(TypedDict):
    """A rule or a story (one per alternative of its ``or:`` steps, stories joined at their
    checkpoints as the engine runs them), with the file and line that define it."""

    kind: Literal["rule", "story"]
    name: str
    path: str | None
    line: int | None
    conditions: list[StepView]
    steps: list[StepView]
    conversation_start: bool
    wait_for_user_input: bool


class FlowList(TypedDict):
    kind: str
    flows: list[FlowView]
