"""The bot's knowledge-base step (issue 18): when no intent covers a customer's message,
answer with the articles search found, ask once to rephrase, or hand over to a person; and
what a "no" to "Did this answer your question?" leads to.

Pure, like ``routing.decision``: the pipeline gives the interpretation's intent and
confidence, the customer's language and the search's hits (best first), and acts on the
value returned. The step applies after the engine's interpretation (Rasa's or the embedded
one's) when it has no answer of its own: the message was not understood, is out of scope, or
is an FAQ-like intent the engine is unsure of.

Whether an article answers at all is read from the best hit's cosine similarity to the
question (search's ranks only order the articles; they are the same whether the best one
answers or not). The thresholds come from the labelled set (tests/server/services/
kb_labelled) against the hand-written out-of-scope messages (nlu/out_of_scope, 257 of them),
with the demo shop's 60 articles and WordLlama vectors, best three shown:

- English, at 0.30: 89 of 120 shop questions answered (70 with their article among the
  three), 3 of 136 other-domain messages answered.
- French, at 0.50: 21 of 120 answered, 1 of 121 other-domain messages; at 0.30, 93 of 121
  other-domain messages got articles. WordLlama puts French texts close to each other
  whatever they say, so French asks to rephrase or goes to a person far more often than it
  should until a better model for French is chosen (issue 18's model measurement).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nlu.base import OUT_OF_SCOPE_INTENTS
from routing.decision import LOW_CONFIDENCE, OUT_OF_SCOPE, Decision

# Why a conversation went to a person after the knowledge base: the customer said an
# article did not help, or no article came close and they had been asked to rephrase.
KB_NOT_HELPFUL = "kb_not_helpful"
KB_NO_ANSWER = "kb_no_answer"


@dataclass(frozen=True, slots=True)
class Found:
    """An article search found, as the bot shows it."""

    article_id: str
    title: str
    url: str
    excerpt: str
    # Cosine similarity of its nearest chunk to the question (None: found by words alone).
    similarity: float | None


@dataclass(frozen=True, slots=True)
class KbPolicy:
    """The knobs of the knowledge-base step (settings SWITCHBOARD_KB_*)."""

    enabled: bool = True
    # Intents that say no intent covers the message.
    uncovered_intents: frozenset[str] = OUT_OF_SCOPE_INTENTS
    # FAQ-like intents the knowledge base answers better than the bot when the engine is
    # below ``confidence_threshold`` on them.
    faq_intents: frozenset[str] = frozenset()
    confidence_threshold: float = 0.45
    # The best article's similarity needed to answer, per language (see the module's
    # docstring for where these come from); other languages need ``default_similarity``.
    min_similarity: Mapping[str, float] = field(default_factory=lambda: {"en": 0.30, "fr": 0.50})
    default_similarity: float = 0.50
    max_articles: int = 3


@dataclass(frozen=True, slots=True)
class KbAnswer:
    """Send these articles (best first) and ask whether they answered the question."""

    articles: tuple[Found, ...]


@dataclass(frozen=True, slots=True)
class Rephrase:
    """No article came close: ask the customer to say it another way (once)."""


@dataclass(frozen=True, slots=True)
class KbHandoff:
    """A person takes it from here, for ``reason``."""

    reason: str


Outcome = KbAnswer | Rephrase | KbHandoff


def applies(intent: str, confidence: float, policy: KbPolicy) -> bool:
    """Whether the knowledge base should try this message: no intent covers it, or an
    FAQ-like intent the engine is unsure of."""
    if not policy.enabled:
        return False
    if intent in policy.uncovered_intents:
        return True
    return intent in policy.faq_intents and confidence < policy.confidence_threshold


def step(
    language: str | None,
    hits: Sequence[Found],
    policy: KbPolicy,
    *,
    asked_to_rephrase: bool,
) -> Outcome:
    """Answer with the articles close enough to the question (up to ``max_articles``, best
    first; the first must clear the language's threshold, the others are shown only if they
    clear it too); else ask to rephrase, or, asked already, hand over."""
    floor = policy.min_similarity.get(language or "", policy.default_similarity)
    close = [h for h in hits if h.similarity is not None and h.similarity >= floor]
    if close:
        return KbAnswer(tuple(close[: policy.max_articles]))
    if asked_to_rephrase:
        return KbHandoff(KB_NO_ANSWER)
    return Rephrase()


# The decision's handoffs the knowledge base may answer instead: those that only say no intent
# covers the message. Every other reason (risk, a request for a person, VIP, frustration,
# an involved first message, ...) is decided first and stands.
ANSWERABLE_HANDOFFS = frozenset({OUT_OF_SCOPE, LOW_CONFIDENCE})


def consults(decision: Decision, intent: str, confidence: float, policy: KbPolicy) -> bool:
    """Whether the pipeline should search the knowledge base for this message, given what
    ``routing.decision.decide`` made of it: never while a person has the conversation, nor
    over a handoff's own reason; otherwise when ``applies``."""
    if decision.action == "wait":
        return False
    if decision.action == "handoff" and decision.handoff_reason not in ANSWERABLE_HANDOFFS:
        return False
    return applies(intent, confidence, policy)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the customer's message after the articles says of them: ``helpful``, and whether
    they said so (``customer``) or it shows in what they wrote next (``follow_up``)."""

    helpful: bool
    source: str


def verdict(
    decision: Decision, intent: str, confidence: float, text: str, policy: KbPolicy
) -> Verdict | None:
    """The customer's message right after the bot's articles: a yes or a no to "Did this
    answer your question?", or a message no intent covers again (the same question put
    another way, "that doesn't help"), which shows the articles did not help. None: they
    moved on to something the bot understands, or a handoff's own reason stands."""
    if decision.action == "wait":
        return None
    if decision.action == "handoff" and decision.handoff_reason not in ANSWERABLE_HANDOFFS:
        return None
    said = feedback_of(text, intent)
    if said is not None:
        return Verdict(said, "customer")
    if applies(intent, confidence, policy):
        return Verdict(False, "follow_up")
    return None


def _folded(text: str) -> str:
    # The typographic apostrophe (U+2019) first: ASCII folding would drop it.
    text = text.lower().replace("\u2019", "'")
    bare = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.findall(r"[a-z0-9']+", bare))


# A short answer that starts with one of these is a yes or a no (the widget's buttons send
# the first of each, in the customer's language; the text channels say "yes / no").
YES = frozenset({"yes", "y", "yep", "yeah", "yup", "oui", "ouais", "ok", "okay", "parfait"})
NO = frozenset({"no", "n", "nope", "nah", "non", "pas"})
# Phrases that say the articles did not help, anywhere in the message.
NOT_HELPFUL = re.compile(
    r"\b(not (really )?help(ful|ing)?|(does ?n'?t|did ?n'?t|does not|did not) (really )?help"
    r"|(does ?n'?t|did ?n'?t|does not|did not) answer|not what i (asked|meant|need)"
    r"|useless|n'aide pas|ne m'aide pas|pas (tres )?utile|inutile|ne repond pas"
    r"|pas ce que (je|j'ai))\b"
)
# A yes or a no ends within this many words; a longer message says something else too.
SHORT_ANSWER_WORDS = 6


def feedback_of(text: str, intent: str | None = None) -> bool | None:
    """The customer's yes (True) or no (False) to "Did this answer your question?", or None
    when the message is neither. The engine's ``affirm``/``deny`` count on short messages."""
    folded = _folded(text)
    if NOT_HELPFUL.search(folded):
        return False
    words = folded.split()
    if not words or len(words) > SHORT_ANSWER_WORDS:
        return None
    if words[0] in YES:
        return True
    if words[0] in NO:
        return False
    if intent == "affirm":
        return True
    if intent == "deny":
        return False
    return None


def after_feedback(helpful: bool) -> KbHandoff | None:
    """The customer's answer to "Did this answer your question?": a "no" brings a person,
    who sees the articles shown (the pipeline puts them on the context card)."""
    return None if helpful else KbHandoff(KB_NOT_HELPFUL)


TEXTS = {
    "en": {
        "intro": "These articles may answer your question:",
        "ask": "Did this answer your question? (yes / no)",
        "rephrase": "Sorry, I couldn't find an answer to that. Could you say it another way?",
        "glad": "Glad it helped! Is there anything else I can do for you?",
    },
    "fr": {
        "intro": "Ces articles répondent peut-être à votre question :",
        "ask": "Cela répond-il à votre question ? (oui / non)",
        "rephrase": "Désolé, je n'ai pas trouvé de réponse. Pouvez-vous reformuler ?",
        "glad": "Ravi d'avoir pu vous aider ! Puis-je faire autre chose pour vous ?",
    },
}


def as_text(answer: KbAnswer, language: str | None, base_url: str) -> str:
    """The answer for channels that show text (email, Telegram, Slack): each article's
    title, a short excerpt and its link, then the question."""
    texts = TEXTS.get(language or "en", TEXTS["en"])
    lines = [texts["intro"], ""]
    for found in answer.articles:
        lines.append(f"• {found.title}: {base_url.rstrip('/')}{found.url}")
        if found.excerpt:
            lines.append(f"  {found.excerpt}")
    lines += ["", texts["ask"]]
    return "\n".join(lines)


def rephrase_text(language: str | None) -> str:
    return TEXTS.get(language or "en", TEXTS["en"])["rephrase"]


def glad_text(language: str | None) -> str:
    return TEXTS.get(language or "en", TEXTS["en"])["glad"]


def intro_text(language: str | None) -> str:
    return TEXTS.get(language or "en", TEXTS["en"])["intro"]


def ask_text(language: str | None) -> str:
    return TEXTS.get(language or "en", TEXTS["en"])["ask"]
