"""What to do with a customer's message: let the bot answer, hand over to a human (and why),
or wait because a human already has the conversation.

Pure functions over values, tested without a database or an NLU engine. ``decide`` runs
before the bot is asked; ``after_bot`` looks at what the bot did (it may ask for a human, or
have understood nothing once too often).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from nlu.base import NLU_FALLBACK, UNKNOWN
from routing import frustration, gibberish, risk
from routing.gibberish import Gibberish
from routing.risk import Signal

ConversationStatus = Literal["bot", "queued", "assigned", "resolved"]
Action = Literal["bot", "handoff", "wait"]

# Why a conversation went to a human; stored on the conversation and shown in the console.
NO_BOT = "no_bot"
REQUESTED_HUMAN = "requested_human"
LOW_CONFIDENCE = "low_confidence"
NEGATIVE_SENTIMENT = "negative_sentiment"
OUT_OF_SCOPE = "out_of_scope"
BOT_REQUESTED = "bot_requested"
HUMAN_INTENT = "intent_needs_human"
UNSUPPORTED_LANGUAGE = "unsupported_language"
VIP = "vip"
NLU_UNAVAILABLE = "nlu_unavailable"
# A machine wrote (an auto-reply, a mailing list): a person looks, nothing answers it.
AUTOMATED_SENDER = "automated_sender"
# What the customer's words show (routing/risk.py, routing/frustration.py): each category is
# its own reason, so the queue and the console say why.
SAFETY = risk.SAFETY
ACCOUNT_TAKEOVER = risk.ACCOUNT_TAKEOVER
FRAUD = risk.FRAUD
LEGAL = risk.LEGAL
VULNERABLE_CUSTOMER = risk.VULNERABLE
PRESS = risk.PRESS
DATA_RIGHTS = risk.DATA_RIGHTS
NEGOTIATION = risk.NEGOTIATION
REPEATED_CONTACT = frustration.REPEATED_CONTACT
FRUSTRATION = frustration.FRUSTRATION
# Not understood, and too long, emotional or involved to ask the customer to rephrase.
COMPLEX_FIRST_MESSAGE = frustration.COMPLEX_FIRST_MESSAGE


@dataclass(frozen=True, slots=True)
class BotPolicy:
    """The knobs of the bot/human decision (settings SWITCHBOARD_BOT_*)."""

    enabled: bool = True
    # Below this, an intent counts as not understood even if the engine named one.
    confidence_threshold: float = 0.45
    # This many not-understood messages in a row bring in a human.
    max_fallbacks: int = 2
    # One message this negative (VADER compound), or the last few this negative on average.
    sentiment_threshold: float = -0.6
    sentiment_trend_threshold: float = -0.35
    trend_window: int = 3
    requested_human_intents: frozenset[str] = frozenset({"request_human"})
    # Intents that always go to a person (complaints, negotiation, legal matters, ...).
    human_intents: frozenset[str] = frozenset(
        {"complaint", "negotiation", "legal", "data_rights", "security_incident", "safety"}
    )
    # The risk categories (routing/risk.py) whose words hand a conversation to a person.
    risk_categories: frozenset[str] = frozenset(risk.CATEGORIES)
    # Whether the customer's own words about contacting us before, or their frustration,
    # or an involved first message the bot did not understand, bring in a person.
    repeated_contact: bool = True
    frustration: bool = True
    complex_first_message: bool = True
    out_of_scope_intents: frozenset[str] = frozenset({"out_of_scope"})
    # Intents that say little on their own; after a not-understood message, one of these on a
    # message this long is a rephrase the bot still did not understand.
    small_talk_intents: frozenset[str] = frozenset(
        {"affirm", "deny", "greet", "goodbye", "thanks", "inform", "bot_challenge"}
    )
    small_talk_max_words: int = 6
    vip_to_human: bool = True
    # A message goes to a human for its language only when the detector is this sure: short
    # or garbled texts get low, arbitrary guesses.
    foreign_language_confidence: float = 0.6
    # ... and, for a text with no common word of any language (routing/gibberish.py) that
    # does not look typed at random, this sure: a made-up word is as plausible to lingua as
    # a real one it does not know. On the shipped gibberish set the pseudo-words it named a
    # foreign language scored 0.62-0.77 ("flibber wabble dronk" Dutch 0.69); real German,
    # Dutch or Italian fragments without such a word 0.79-1.0 ("Garantie abgelaufen?" 0.98).
    wordless_language_confidence: float = 0.8


@dataclass(frozen=True, slots=True)
class Texts:
    """What the customer is told on a handoff, per language (English is the fallback)."""

    handoff: dict[str, str] = field(
        default_factory=lambda: {
            "en": "Thanks for your message. A member of our team will reply here shortly.",
            "fr": "Merci pour votre message. Un membre de notre équipe vous répond ici très vite.",
        }
    )
    off_hours: dict[str, str] = field(
        default_factory=lambda: {
            "en": "Thanks for your message. Our team is away right now ({hours}); we'll reply"
            " here as soon as we're back, and you'll find the answer in this chat.",
            "fr": "Merci pour votre message. Notre équipe est absente pour le moment ({hours}) ;"
            " nous vous répondrons ici dès notre retour.",
        }
    )

    def notice(self, language: str | None, *, within_hours: bool, hours: str) -> str:
        table = self.handoff if within_hours else self.off_hours
        return table.get(language or "en", table["en"]).replace("{hours}", hours)


@dataclass(frozen=True, slots=True)
class Situation:
    """Everything the decision looks at, gathered by the pipeline."""

    status: ConversationStatus
    intent: str
    confidence: float
    language: str | None
    supported_languages: frozenset[str]
    sentiment: float
    language_confidence: float = 1.0
    # Sentiments of the customer's earlier messages in this conversation, oldest first.
    earlier_sentiments: tuple[float, ...] = ()
    # Not-understood messages in a row before this one.
    fallbacks: int = 0
    vip: bool = False
    # The message was sent by a machine (RFC 3834): never answered automatically.
    automated: bool = False
    within_hours: bool = True
    hours: str = ""
    # The message's text, the customer's earlier messages in this conversation (oldest
    # first) and how many other conversations they opened this week.
    text: str = ""
    earlier_texts: tuple[str, ...] = ()
    earlier_conversations: int = 0
    # The out-of-scope detector's verdict on the message (None: the engine gives none).
    out_of_scope: bool | None = None
    # The conversation's language before this message (None: its first message).
    previous_language: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    status: ConversationStatus
    # A system message to send (handoff notice, off-hours notice), in the customer's language.
    reply: str | None = None
    handoff_reason: str | None = None
    fallbacks: int = 0
    # What the reason was read from, in words ("safety: “caught fire”"), for the log.
    evidence: str | None = None


def decide(situation: Situation, policy: BotPolicy, texts: Texts) -> Decision:
    """Before the bot: a human conversation stays human; otherwise bot or handoff."""
    s = situation
    if s.status != "bot":
        # A human is involved or one is awaited: the bot stays silent.
        return Decision("wait", s.status, fallbacks=s.fallbacks)
    if s.automated:
        # No bot answer and no notice: either could start a loop between two robots.
        return Decision("handoff", "queued", handoff_reason=AUTOMATED_SENDER, fallbacks=s.fallbacks)
    babble = _babble(s, policy)
    reason = _handoff_reason(s, policy, babble)
    # A notice is written in the language heard (heard_language): not in the one lingua
    # guessed for nonsense.
    told = replace(s, language=s.previous_language) if babble is not None else s
    if isinstance(reason, Signal):
        return replace(handoff(told, reason.category, texts), evidence=reason.explanation())
    if reason is not None:
        return handoff(told, reason, texts)
    fallback = s.intent == NLU_FALLBACK or s.confidence < policy.confidence_threshold
    # Nonsense that lingua named a language is not understood, whatever intent it was given.
    fallback = fallback or babble is not None
    # A rephrase the classifier files under small talk ("no, I mean the parcel that came
    # broken last week" as `deny`) answers nothing: it stays not understood, so the
    # two-in-a-row net still catches it.
    rephrase = s.fallbacks > 0 and s.intent in policy.small_talk_intents
    if rephrase and len(s.text.split()) >= policy.small_talk_max_words:
        fallback = True
    fallbacks = s.fallbacks + 1 if fallback else 0
    if fallback and fallbacks >= policy.max_fallbacks:
        return handoff(replace(told, fallbacks=fallbacks), LOW_CONFIDENCE, texts)
    first = not s.earlier_texts and s.fallbacks == 0
    involved = frustration.complex_message(s.text, s.sentiment) if fallback and first else None
    if involved is not None and policy.complex_first_message:
        done = handoff(replace(told, fallbacks=fallbacks), involved.category, texts)
        return replace(done, evidence=involved.explanation())
    return Decision(
        "bot", "bot", fallbacks=fallbacks, evidence=babble.explanation() if babble else None
    )


def after_bot(
    situation: Situation, decision: Decision, bot_handoff: str | None, texts: Texts
) -> Decision:
    """After the bot answered: it may have asked for a human itself."""
    if bot_handoff is None:
        return decision
    # The bot has already told the customer; only off hours is there more to say.
    done = handoff(
        situation, BOT_REQUESTED if bot_handoff == "bot_requested" else bot_handoff, texts
    )
    return replace(
        done, reply=None if situation.within_hours else done.reply, fallbacks=decision.fallbacks
    )


def handoff(situation: Situation, reason: str, texts: Texts) -> Decision:
    return Decision(
        "handoff",
        "queued",
        reply=texts.notice(
            situation.language, within_hours=situation.within_hours, hours=situation.hours
        ),
        handoff_reason=reason,
        fallbacks=situation.fallbacks,
    )


def heard_language(s: Situation, policy: BotPolicy) -> str | None:
    """The language to record for the message and its conversation, and to answer in:
    lingua's guess, unless the same rule that keeps nonsense from going to a person as
    ``unsupported_language`` drops it (``_babble``: "flibber wabble dronk" is not Dutch).
    Then the conversation's language as it was (None on a first message), as for a text too
    short to tell (nlu.understanding)."""
    return s.previous_language if _babble(s, policy) is not None else s.language


def _babble(s: Situation, policy: BotPolicy) -> Gibberish | None:
    """The text, when lingua named it a language the bot does not speak but it reads as no
    language: keyboard mashing, or made-up words lingua is not sure of. The bot then does not
    claim a language (it would tell the agent it does not speak the customer's): the message
    is not understood, and the not-understood path decides what follows."""
    foreign = s.language is not None and s.language not in s.supported_languages
    if not foreign or s.language_confidence < policy.foreign_language_confidence:
        return None
    if s.out_of_scope is False:
        return None  # the detector takes it for a request the bot was built for
    found = gibberish.detect(s.text)
    if found is None:
        return None
    if found.mashed or s.language_confidence < policy.wordless_language_confidence:
        return found
    return None


def _handoff_reason(
    s: Situation, policy: BotPolicy, babble: Gibberish | None
) -> str | Signal | None:
    if not policy.enabled:
        return NO_BOT
    # First, whatever else holds: a fire or a hacked account is urgent even when the customer
    # also asked for a person or the NLU is down, and its reason sets the priority.
    understood = s.intent in policy.human_intents and s.confidence >= policy.confidence_threshold
    danger = risk.strongest(s.text, s.intent if understood else None)
    if danger is not None and danger.category in policy.risk_categories:
        return danger
    if s.intent == UNKNOWN:
        return NLU_UNAVAILABLE
    if s.intent in policy.requested_human_intents:
        return REQUESTED_HUMAN
    if policy.vip_to_human and s.vip:
        return VIP
    foreign = s.language is not None and s.language not in s.supported_languages
    if foreign and s.language_confidence >= policy.foreign_language_confidence and babble is None:
        return UNSUPPORTED_LANGUAGE
    # Below the threshold an intent is a guess ("avez-vous un programme de fidélité ?" as
    # negotiation at 0.32): it counts as not understood, as any other guess does.
    if s.intent in policy.human_intents and s.confidence >= policy.confidence_threshold:
        return HUMAN_INTENT
    if s.intent in policy.out_of_scope_intents:
        return OUT_OF_SCOPE
    again = frustration.repeated_contact(s.text, s.earlier_conversations)
    if again is not None and policy.repeated_contact:
        return again
    course = frustration.Course(s.earlier_texts, s.earlier_sentiments)
    weary = frustration.frustration(s.text, s.sentiment, course)
    if weary is not None and policy.frustration:
        return weary
    if s.sentiment <= policy.sentiment_threshold:
        return NEGATIVE_SENTIMENT
    window = (*s.earlier_sentiments, s.sentiment)[-policy.trend_window :]
    trending_down = sum(window) / len(window) <= policy.sentiment_trend_threshold
    if len(window) >= policy.trend_window and trending_down:
        return NEGATIVE_SENTIMENT
    return None
