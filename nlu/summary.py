"""The handoff summary, extractive: one paragraph an agent reads before answering, made only of
what the conversation already holds (no model to download, nothing leaves the server).

Pure: a ``Transcript`` (the messages with their stored interpretations, why the bot handed
over) in, a ``Summary`` out. It says what the customer wants (the first request the bot
recognised, in the customer's own words), what the bot tried (its replies, by the action that
made them) and why it stopped (the handoff reason and the message it gave up on), and lists
the key facts (order numbers, emails, amounts, dates), each with the message it came from so
the console can show that message.

The paragraph is in English, the console's language; the customer's words are quoted as they
wrote them, in their language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from nlu.base import NLU_FALLBACK, UNKNOWN, Entity
from nlu.facts import FactKind, facts_in

# Intents that say nothing about what the customer came for.
SMALL_TALK = frozenset(
    {
        "greet",
        "goodbye",
        "thanks",
        "affirm",
        "deny",
        "inform",
        "bot_challenge",
        "request_human",
        "out_of_scope",
        NLU_FALLBACK,
        UNKNOWN,
    }
)
# Below this the intent is a guess; the routing policy's default threshold (routing/decision).
CONFIDENT = 0.45
# A customer's latest sentiment at or below this is worth saying (VADER's compound score).
UPSET = -0.5
QUOTE_CHARS = 160
MAX_FACTS = 12

# What the customer wants, by the shipped project's intents (nlu/rasa_project/domain.yml).
WANTS = {
    "order_status": "to know where their order is",
    "shipping_info": "information about shipping",
    "change_address": "to change a delivery address",
    "cancel_order": "to cancel an order",
    "return_refund": "a return or a refund",
    "damaged_item": "help with a damaged item",
    "billing_issue": "help with a billing problem",
    "payment_failed": "help with a failed payment",
    "reset_password": "to reset their password",
    "account_locked": "to unlock their account",
    "delete_account": "to delete their account",
    "pricing_question": "to know a price",
    "product_availability": "to know whether a product is available",
    "technical_problem": "help with a technical problem",
    "feature_request": "to suggest a feature",
    "complaint": "to make a complaint",
    "opening_hours": "the opening hours",
    "invoice_request": "an invoice",
    "promo_code": "help with a promo code",
    "negotiation": "to negotiate a price or terms",
    "legal": "a legal matter",
    "data_rights": "a request about their personal data",
    "security_incident": "a security incident on their account",
    "safety": "a safety incident",
}
# Why the bot handed over (routing/decision.py's reasons), as the console words them.
REASONS = {
    "requested_human": "the customer asked for a person",
    "low_confidence": "it did not understand the customer",
    "negative_sentiment": "the customer was upset",
    "out_of_scope": "the request was out of its scope",
    "bot_requested": "its own answer asked for a person",
    "intent_needs_human": "this kind of request needs a person",
    "unsupported_language": "it does not speak the customer's language",
    "vip": "the customer is a VIP",
    "nlu_unavailable": "the bot was unavailable",
    "bot_unavailable": "the bot was unavailable",
    "no_bot": "no bot answers this inbox",
    "automated_sender": "the message came from an automated sender",
    # What the customer's words showed (routing/risk.py, routing/frustration.py).
    "safety": "the customer reported a safety incident",
    "account_takeover": "the customer's account looks taken over",
    "fraud": "the customer reported possible fraud",
    "legal": "the customer threatened legal action or a chargeback",
    "vulnerable_customer": "the customer is vulnerable, or writes for someone who is",
    "press": "the message is a press enquiry",
    "data_rights": "the customer made a data-rights request",
    "negotiation": "the customer wants to negotiate or asks for an exception",
    "repeated_contact": "the customer has contacted us before about this",
    "frustration": "the customer is losing patience",
    "complex_first_message": "the first message was too involved to ask for a rephrase",
    # After the bot's knowledge-base answer (routing/knowledge.py).
    "kb_not_helpful": "the customer said the articles did not help",
    "kb_no_answer": "no article answered the question",
    # Named by the shipped bot's own action (nlu/rasa_project/actions/actions.py).
    "order_lookup_failed": "it could not look the order up",
}
LANGUAGES = {"en": "English", "fr": "French"}


@dataclass(frozen=True, slots=True)
class Turn:
    """One message of the conversation as the summary reads it. ``intent`` and the rest are
    the stored interpretation of a customer's message; ``action`` names what made a bot's."""

    message_id: int
    seq: int
    author: str  # customer, bot, agent, system
    text: str
    at: datetime | None = None
    intent: str | None = None
    confidence: float | None = None
    entities: tuple[Entity, ...] = ()
    sentiment: float | None = None
    action: str | None = None


@dataclass(frozen=True, slots=True)
class Transcript:
    turns: tuple[Turn, ...]
    language: str | None = None
    handoff_reason: str | None = None
    handoff_at: datetime | None = None


class FactView(TypedDict):
    kind: FactKind
    # Normalised: "10234", "jane@example.com", "49.90 EUR", "2026-12-02".
    value: str
    # As written in the message.
    text: str
    message_id: int
    seq: int


class SummaryView(TypedDict):
    """The summary as the console receives it."""

    text: str
    wants: str
    tried: str
    stopped: str
    # "The customer sounds upset." or empty.
    mood: str
    facts: list[FactView]
    # The customer's message that says what they want, and the one the bot gave up on.
    request_seq: int | None
    trigger_seq: int | None


@dataclass(frozen=True, slots=True)
class Summary:
    wants: str
    tried: str
    stopped: str
    mood: str
    facts: tuple[FactView, ...]
    request_seq: int | None
    trigger_seq: int | None

    @property
    def text(self) -> str:
        parts = [self.wants, self.tried, self.stopped, self.mood]
        if self.facts:
            listed = ", ".join(_fact_words(f) for f in self.facts)
            parts.append(f"Key facts: {listed}.")
        return " ".join(p for p in parts if p)

    def to_json(self) -> SummaryView:
        return SummaryView(
            text=self.text,
            wants=self.wants,
            tried=self.tried,
            stopped=self.stopped,
            mood=self.mood,
            facts=list(self.facts),
            request_seq=self.request_seq,
            trigger_seq=self.trigger_seq,
        )


def summarize(transcript: Transcript) -> Summary:
    """The extractive summary of a conversation (see the module's docstring)."""
    customer = [t for t in transcript.turns if t.author == "customer" and t.text.strip()]
    # What the bot was asked before it gave up comes first; messages since (details the
    # customer added while waiting) count when those said nothing recognisable.
    before = [t for t in customer if _before_handoff(t, transcript)]
    request = _recognised(before) or _recognised(customer) or _longest(customer)
    trigger = _trigger(customer, transcript)
    return Summary(
        wants=_wants(request, transcript.language),
        tried=_tried(transcript),
        stopped=_stopped(transcript, trigger, request),
        mood=_mood(customer),
        facts=_facts(transcript.turns),
        request_seq=request.seq if request else None,
        trigger_seq=trigger.seq if trigger else None,
    )


def _before_handoff(turn: Turn, transcript: Transcript) -> bool:
    if transcript.handoff_at is None or turn.at is None:
        return True
    return turn.at <= transcript.handoff_at


def _recognised(customer: list[Turn]) -> Turn | None:
    """The first message whose intent the bot recognised with confidence and that is more
    than small talk."""
    for turn in customer:
        if turn.intent and turn.intent not in SMALL_TALK and (turn.confidence or 0) >= CONFIDENT:
            return turn
    return None


def _longest(customer: list[Turn]) -> Turn | None:
    """Without a recognised request, the customer's longest message: the one most likely to
    say what they want."""
    return max(customer, key=lambda t: len(t.text.split()), default=None)


def _trigger(customer: list[Turn], transcript: Transcript) -> Turn | None:
    """The customer's last message before the handoff: what the bot could not answer."""
    if transcript.handoff_reason is None:
        return None
    before = [t for t in customer if _before_handoff(t, transcript)]
    return before[-1] if before else None


def _wants(request: Turn | None, language: str | None) -> str:
    if request is None:
        return "The customer has not written anything yet."
    tongue = LANGUAGES.get(language or "", "")
    writes = f" (in {tongue})" if tongue and language != "en" else ""
    known = request.intent and request.intent not in SMALL_TALK
    if known and (request.confidence or 0) >= CONFIDENT:
        want = WANTS.get(request.intent or "", f"help with {_words(request.intent or '')}")
        return _sentence(f"The customer wants {want}{writes}: {quote(request.text)}.")
    return _sentence(f"The customer wrote{writes}: {quote(request.text)}.")


def _tried(transcript: Transcript) -> str:
    bot = [t for t in transcript.turns if t.author == "bot"]
    if not bot:
        return "The bot did not answer."
    actions: list[str] = []
    for turn in bot:
        if turn.action and _words(turn.action) not in actions:
            actions.append(_words(turn.action))
    times = "once" if len(bot) == 1 else f"{len(bot)} times"
    did = f" ({', '.join(actions[:4])})" if actions else ""
    return _sentence(f"The bot answered {times}{did}; its last answer: {quote(bot[-1].text)}.")


def _stopped(transcript: Transcript, trigger: Turn | None, request: Turn | None) -> str:
    reason = transcript.handoff_reason
    if reason is None:
        return "The bot has not handed over."
    why = REASONS.get(reason, _words(reason))
    if trigger is None or trigger is request:
        return f"It handed over because {why}."
    return _sentence(f"It handed over because {why}, on {quote(trigger.text)}.")


def _mood(customer: list[Turn]) -> str:
    scored = [t.sentiment for t in customer if t.sentiment is not None]
    if scored and scored[-1] <= UPSET:
        return "The customer sounds upset."
    return ""


def _facts(turns: tuple[Turn, ...]) -> tuple[FactView, ...]:
    """Facts of the customer's, the bot's and agents' messages (not system notices), each at
    its first mention."""
    seen: set[tuple[str, str]] = set()
    kept: list[FactView] = []
    for turn in turns:
        if turn.author == "system":
            continue
        written = turn.at.date() if turn.at else None
        for fact in facts_in(turn.text, turn.entities, written):
            if (fact.kind, fact.value) in seen:
                continue
            seen.add((fact.kind, fact.value))
            kept.append(
                FactView(
                    kind=fact.kind,
                    value=fact.value,
                    text=fact.text,
                    message_id=turn.message_id,
                    seq=turn.seq,
                )
            )
    return tuple(kept[:MAX_FACTS])


def _fact_words(fact: FactView) -> str:
    if fact["kind"] == "order":
        return f"order {fact['value']}"
    return fact["value"]


def _words(name: str) -> str:
    """ "action_check_order_status" -> "check order status"."""
    for prefix in ("action_", "utter_"):
        name = name.removeprefix(prefix)
    return name.replace("_", " ").strip()


def _sentence(words: str) -> str:
    """A sentence ending in a quote: its full stop is dropped when the quote already ends
    one (“where is it?”, not “where is it?”.)."""
    return words[:-1] if re.search(r"[.!?]”\.$", words) else words


def quote(text: str) -> str:
    """The text on one line, cut at a word near QUOTE_CHARS, in quotation marks."""
    line = " ".join(text.split())
    if len(line) > QUOTE_CHARS:
        cut = line[:QUOTE_CHARS].rsplit(" ", 1)[0]
        line = f"{cut}…"
    return f"“{line}”"
