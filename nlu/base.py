"""The values the NLU layer hands to the rest of Switchboard, and the interpreter port.

An ``Interpretation`` is what one customer message means (intent, entities, language,
sentiment); a ``BotTurn`` is what the bot says back. Both are plain frozen values, so the
routing decision over them is pure and the two engines (a Rasa server, the embedded engine)
are interchangeable behind ``Interpreter``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

# The intent of a message the engine could not interpret at all (Rasa down, timeout): it
# always routes to a human.
UNKNOWN = "unknown"
# Rasa's name for "understood nothing with enough confidence" (its FallbackClassifier).
NLU_FALLBACK = "nlu_fallback"
# Intent names that mean "not something this bot does": Rasa's fallback and the usual names of
# a project's own out-of-scope intent. Choosing one is already an out-of-scope answer.
OUT_OF_SCOPE_INTENTS = frozenset({NLU_FALLBACK, "out_of_scope", "out_of_domain", "oos"})


@dataclass(frozen=True, slots=True)
class IntentScore:
    name: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Entity:
    entity: str
    value: str
    start: int
    end: int
    text: str
    extractor: str
    # Rasa's entity roles and groups ("city" as the departure, the first of two orders).
    role: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """How far a message lies outside what the bot was built for (``nlu.scope``). ``score``
    is the share of the project's own understood examples that lie further in (0.99: further
    out than 99 % of them); ``out_of_scope`` is the verdict; ``reasons`` say why, in words."""

    score: float
    out_of_scope: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Interpretation:
    """What one customer message means. ``sentiment`` is VADER's compound score in [-1, 1]."""

    text: str
    intent: str
    confidence: float
    ranking: tuple[IntentScore, ...] = ()
    entities: tuple[Entity, ...] = ()
    language: str | None = None
    language_confidence: float = 0.0
    sentiment: float = 0.0
    engine: str = ""
    error: str | None = None
    # The embedded engine's out-of-scope verdict (None from engines that give none).
    scope: Scope | None = None
    # A retrieval intent's sub-intent, as Rasa's ResponseSelector reports it
    # (``intent_response_key``): ``intent`` is then the retrieval intent ("faq") and this
    # the key whose response the bot says ("faq/ask_hours").
    retrieval_intent: str | None = None

    @property
    def full_intent(self) -> str:
        """The intent the dialogue reads: the sub-intent for a retrieval intent."""
        return self.retrieval_intent or self.intent

    def to_json(self) -> dict[str, Any]:
        # Field by field, in field order: ``dataclasses.asdict`` deep-copies every value, and
        # this runs for every customer message routed (2.5 % of the server's CPU in the web
        # chat bench, py-spy).
        scope = self.scope
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "ranking": [{"name": r.name, "confidence": r.confidence} for r in self.ranking],
            "entities": [asdict(e) for e in self.entities],
            "language": self.language,
            "language_confidence": self.language_confidence,
            "sentiment": self.sentiment,
            "engine": self.engine,
            "error": self.error,
            "scope": (
                None
                if scope is None
                else {
                    "score": scope.score,
                    "out_of_scope": scope.out_of_scope,
                    "reasons": list(scope.reasons),
                }
            ),
            "retrieval_intent": self.retrieval_intent,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interpretation:
        return cls(
            text=data["text"],
            intent=data["intent"],
            confidence=float(data["confidence"]),
            ranking=tuple(IntentScore(**r) for r in data.get("ranking") or ()),
            entities=tuple(Entity(**e) for e in data.get("entities") or ()),
            language=data.get("language"),
            language_confidence=float(data.get("language_confidence") or 0.0),
            sentiment=float(data.get("sentiment") or 0.0),
            engine=data.get("engine") or "",
            error=data.get("error"),
            retrieval_intent=data.get("retrieval_intent"),
            scope=(
                Scope(float(scope["score"]), bool(scope["out_of_scope"]), tuple(scope["reasons"]))
                if (scope := data.get("scope"))
                else None
            ),
        )

    @classmethod
    def unknown(cls, text: str, engine: str, error: str) -> Interpretation:
        return cls(text=text, intent=UNKNOWN, confidence=0.0, engine=engine, error=error)


@dataclass(frozen=True, slots=True)
class Button:
    """A choice the bot offers; ``payload`` is what choosing it says (``/intent`` or text)."""

    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class BotMessage:
    """One thing the bot says: a text, choices, an image, or a custom payload; ``action`` names
    what produced it. Channels that cannot show buttons or images get them degraded (numbered
    options, a link) by the pipeline, never dropped."""

    text: str | None
    action: str
    custom: dict[str, Any] | None = None
    buttons: tuple[Button, ...] = ()
    image: str | None = None


@dataclass(frozen=True, slots=True)
class BotTurn:
    """The bot's answer to one customer message. ``handoff`` is set when the bot asked for a
    human (Rasa's custom ``{"handoff": reason}`` payload, or an engine failure)."""

    messages: tuple[BotMessage, ...] = ()
    handoff: str | None = None
    error: str | None = None
    # The dialogue's slots after the turn (the embedded engine's): kept with the customer's
    # message, so that a tracker rebuilt after a restart or on another node has the slots
    # custom actions and form validation set, which replaying the messages cannot refill.
    slots: tuple[tuple[str, Any], ...] = ()
    # What the turn did to the dialogue's tracker (the embedded engine's record, as JSON
    # values: ``nlu.journal``), kept with the slots: what a custom action took back (rewind,
    # undo, restart, reset slots) is replayed from it.
    events: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class PastTurn:
    """One earlier event of the conversation, as the embedded engine's dialogue needs it:
    a customer message's interpretation or an action the bot ran."""

    intent: str | None = None
    entities: tuple[Entity, ...] = ()
    action: str | None = None
    text: str = ""  # what the customer wrote (a form's from_text slots are filled from it)
    # The slots after the bot answered this message (BotTurn.slots), when they were kept.
    slots: tuple[tuple[str, Any], ...] = ()
    # What the bot's turn did to the tracker (BotTurn.events), when it was kept.
    events: tuple[dict[str, Any], ...] = ()
    # When the customer wrote it (seconds since the epoch), when known: a conversation's
    # session expires from its latest message.
    at: float | None = None


@dataclass(frozen=True, slots=True)
class Dialogue:
    """What the bot needs to answer: the conversation, its past turns, the new message."""

    conversation_id: str
    interpretation: Interpretation
    language: str
    history: tuple[PastTurn, ...] = field(default_factory=tuple)
    # The channel the customer writes on (webchat, email, telegram, slack): a response's
    # variations for that channel (Rasa's ``channel:``) are said there.
    channel: str | None = None


class Interpreter(Protocol):
    """An NLU engine: understands a message, then answers it."""

    @property
    def kind(self) -> str: ...

    @property
    def languages(self) -> frozenset[str]:
        """Languages the bot has training data for; others go to a human."""
        ...

    @property
    def wants_history(self) -> bool:
        """Whether ``respond`` needs the conversation's past turns (an engine that keeps its
        own tracker, as a Rasa server does, does not)."""
        ...

    async def parse(self, text: str) -> Interpretation:
        """Intent and entities (language and sentiment are added by the caller)."""
        ...

    async def respond(self, dialogue: Dialogue) -> BotTurn:
        """The bot's answer; never raises: a failure is a BotTurn with ``handoff`` set."""
        ...

    def state(self) -> dict[str, Any]:
        """For /readyz: kind, model, health."""
        ...

    async def close(self) -> None: ...
