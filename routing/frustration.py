"""A customer who has been here before, or has had enough, in their own words and over the
conversation: repeated contact, frustration, and a first message too involved for "could you
rephrase?".

VADER's lexicon scores "I've done that five times already… I'm fed up" as neutral: it knows
angry words, not weariness, and it reads one message at a time. Here frustration is read
from phrases that say it outright ("fed up", "j'en ai marre", "losing patience"), and from
the conversation's course: small signs (still, again, already, "…", "!!") that add up over
the customer's messages, and a sentiment that sinks. Measured against VADER alone on the
labelled set (tests/routing/data/handoff.yml; figures in tests/routing/test_frustration.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from routing.lexicon import Lexicon
from routing.risk import Signal

REPEATED_CONTACT = "repeated_contact"
FRUSTRATION = "frustration"
COMPLEX_FIRST_MESSAGE = "complex_first_message"

_CONTACTED = (
    "contact*|writ*|wrote|ask*|call*|phoned|sent|email*|mail*|message*|explain*|chased"
    "|told|ecri*|demande*|appel*|envoye*|relance*|explique*|contacte*"
)
_ORDINAL = (
    "second|third|fourth|fifth|sixth|2nd|3rd|4th|5th|6th|nth|umpteenth|deuxieme|troisieme"
    "|quatrieme|cinquieme|sixieme|2e|3e|4e|5e|6e|2eme|3eme|4eme|5eme|enieme|nieme"
)
_TIMES = (
    "twice|two|three|four|five|six|several|many|multiple|#|deux|trois|quatre|cinq|six|plusieurs"
)

REPEAT_CUES = {
    REPEATED_CONTACT: (
        f"{_ORDINAL} time|times|fois|message|email|mail|request|demande|relance|attempt",
        f"{_TIMES} times|fois ... already|deja|now|maintenant|about|for|pour|au|sujet",
        f"already|deja ... {_CONTACTED} ... {_TIMES} ... times|fois",
        f"{_CONTACTED} ... {_TIMES} times|fois",
        f"{_CONTACTED} ... twice|thrice",
        f"{_CONTACTED} ... you|vous ... twice|{_TIMES} ... times|fois",
        "nobody|noone ... got|gets|came|comes|get ... back",
        "nobody|noone ... answered|answers|replied|replies|responded|responds|helps|helped",
        "personne|aucun ... repondu|repond|rappele|recontacte|aide",
        "still|toujours ... no|aucune|pas|nothing|rien ... answer|reply|response|reponse|nouvelle"
        "|news|word",
        "promised|promis ... call|rappel|callback|back|retour ... never|jamais",
        "same ... answer|reply|thing|response|message ... every|each|again",
        "toujours|encore ... la ... meme ... reponse|chose",
        "keep|kept ... explaining|repeating|asking|writing|telling",
        # "asked many times", not "typed my password wrong too many times"
        "multiple|several|many|numerous|countless ... times ! too|password|passe|code",
        "a ... plusieurs ... reprises",
        "maintes ... fois",
        "yet ... another ... message|email|mail|request|chat|call",
        "encore ... un|une ... message|mail|demande|relance|appel",
        "spoke|talked|chatted|parle|discute ... to|with|a|avec ... someone|agent|colleague"
        "|conseiller|collegue|quelqu|person|personne|team|equipe",
        "explique|repete|redemande ... meme ... chose",
        "already|deja ... asked|demande|wrote|ecrit|contacted|contacte|called|appele"
        " ... yesterday|hier|before|last|derniere|avant|week|semaine",
    ),
    FRUSTRATION: (
        "fed ... up",
        "en ... ai ... marre|assez",
        "marre",
        "wits ... end",
        "suis|etre ... a ... bout",
        "give|giving ... up",
        "abandonne|abandon|laisse ... tomber",
        "losing|lost|lose|running ... patience",
        "perds|perdre|perdu ... patience",
        "tired|sick|weary ... of|waiting",
        "las|lasse|lassee|lassitude ... de|d|tout",
        "exhausted|exhausting|exhausts|epuisant|epuisante|epuisement",
        # "épuisé" is also "sold out": only "je suis épuisé(e)"
        "suis|je ... epuise|epuisee",
        "enough ... is ... enough",
        "had ... enough",
        "trop ... c ... est ... trop",
        "cant|cannot ... take|stand|bear ... it|this|anymore|any",
        "n ... en ... peux ... plus",
        "round ... in ... circles",
        "tourne ... en ... rond",
        "beyond ... a ... joke",
        "end ... of ... my ... tether|rope",
        "so ... done ... with",
        "devient ... n ... importe ... quoi",
        "bout ... du ... rouleau",
        "ras ... le ... bol",
        "spent|wasted|wasting|waste ... hours|days|weeks",
        "passe|perdu|perds ... des ... heures|jours|semaines",
        "nothing|rien ... works|work|working|marche|fonctionne",
        "tried ... everything",
        "tout ... essaye",
        "ridiculous|unacceptable|pathetic|useless|disgrace|shameful|outrageous|absurd",
        "inadmissible|inacceptable|lamentable|honteux|honteuse|scandaleux|scandaleuse|ridicule",
        "going ... on ... for|since ... week|weeks|month|months",
        "dure ... depuis ... semaine|semaines|mois",
        "at ... this ... for ... an|hour|hours",
        "depuis ... des ... heures|jours|semaines",
        "ca ... fait ... une|des|# ... heure|heures|jours|semaines ... que",
    ),
}

# Small signs of a customer losing patience; several over a conversation add up.
HINT_CUES = {
    "hint": (
        "still|toujours|again|encore|already|deja|yet",
        "not|nothing|pas|rien|never|jamais ... working|work|works|arrived|arrive|marche|fonctionne"
        "|recu",
        "same|meme ... answer|thing|reponse|chose",
        "failed|echoue|echec|refused|refuse",
        "why|pourquoi",
        # waiting a while: "for two weeks", "since Monday", "depuis trois jours"
        "for|since|depuis ... hour|hours|day|days|week|weeks|month|months|heures|jours"
        "|semaines|mois",
        "hours|days|weeks|months ... ago",
        "il ... y ... a ... heures|jours|semaines|mois",
    ),
}
# Past this many hints over the customer's messages (this one included), it is frustration.
HINTS_FOR_FRUSTRATION = 4
# The customer's earlier conversations this week (counted for priority) that make this a
# repeated contact on their own: two before this one means a third time.
EARLIER_CONVERSATIONS = 2

_REPEAT = Lexicon(REPEAT_CUES)
_HINTS = Lexicon(HINT_CUES)
_INSISTENCE = re.compile(r"(\.\.\.|…|!!|\?\?|!\?|\?!)")
_SENTENCE_END = re.compile(r"[.!?…]+\s+|\n+")
_MULTI_ISSUE = re.compile(
    r"\b(also|as well|another|second issue|aussi|également|de plus|en plus"
    r"|autre (problème|chose))\b",
    re.I,
)


def repeated_contact(text: str, earlier_conversations: int = 0) -> Signal | None:
    """The customer says they have asked before, or their history shows it."""
    found = _REPEAT.find(text)
    for match in found:
        if match.label == REPEATED_CONTACT:
            return Signal(REPEATED_CONTACT, match.evidence)
    if earlier_conversations >= EARLIER_CONVERSATIONS:
        return Signal(REPEATED_CONTACT, f"{earlier_conversations} earlier conversations this week")
    return None


def hints(text: str) -> int:
    """How many small signs of impatience one message shows."""
    return len(_HINTS.find(text)) + len(_INSISTENCE.findall(text))


@dataclass(frozen=True, slots=True)
class Course:
    """The customer's earlier messages in this conversation, oldest first, as the decision
    needs them: their texts and sentiments."""

    texts: tuple[str, ...] = ()
    sentiments: tuple[float, ...] = ()


def frustration(text: str, sentiment: float, course: Course) -> Signal | None:
    """Said outright, or grown over the conversation: hints that add up while the customer
    keeps writing, with a sentiment that is not positive."""
    for match in _REPEAT.find(text):
        if match.label == FRUSTRATION:
            return Signal(FRUSTRATION, match.evidence)
    now = hints(text)
    if now and course.texts and sentiment < 0.3:
        total = now + sum(hints(t) for t in course.texts)
        if total >= HINTS_FOR_FRUSTRATION:
            messages = len(course.texts) + 1
            return Signal(FRUSTRATION, f"{total} signs of impatience over {messages} messages")
    return None


# A first message the bot did not understand goes to a person at once when it is one of these.
LONG_WORDS = 15
EMOTIONAL = 0.5
# A short message's sentiment is one word's: VADER-fr reads "la mauvaise taille" as -0.56.
EMOTIONAL_WORDS = 10


def complex_message(text: str, sentiment: float) -> Signal | None:
    """Long, emotional or about several things: "could you rephrase?" would only make the
    customer write it all again."""
    words = text.split()
    if len(words) >= LONG_WORDS:
        return Signal(COMPLEX_FIRST_MESSAGE, f"{len(words)} words")
    if sentiment <= -EMOTIONAL and len(words) >= EMOTIONAL_WORDS:
        return Signal(COMPLEX_FIRST_MESSAGE, f"sentiment {sentiment:+.2f}")
    if hints(text) >= 2:
        return Signal(COMPLEX_FIRST_MESSAGE, "insistent")
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if len(s.split()) >= 3]
    if len(sentences) >= 3 or (len(sentences) >= 2 and _MULTI_ISSUE.search(text)):
        return Signal(COMPLEX_FIRST_MESSAGE, f"{len(sentences)} requests")
    return None
