"""Which language a message is written in (lingua: accurate on the short texts chats are)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

# The languages a support inbox in Europe and the Americas commonly sees. Restricting the
# candidates keeps the detector small (memory, start-up) and short texts more accurate; a
# message in one of them that the bot has no data for still goes to a human, flagged.
CANDIDATES = (
    Language.ENGLISH,
    Language.FRENCH,
    Language.GERMAN,
    Language.SPANISH,
    Language.ITALIAN,
    Language.PORTUGUESE,
    Language.DUTCH,
    Language.POLISH,
    Language.SWEDISH,
    Language.TURKISH,
    Language.RUSSIAN,
    Language.ARABIC,
    Language.CHINESE,
    Language.JAPANESE,
)

# Below this many letters a guess is noise ("ok", "10234"): the conversation's language is kept.
MIN_LETTERS = 12
# lingua's confidences are relative among the candidates: a guess is trusted when it has at
# least this share and twice the runner-up's.
MIN_CONFIDENCE = 0.3
MIN_LEAD = 2.0
# How many of the screen's likeliest languages the accurate models compare. Four, not three:
# the trigram screen ranks English fourth for "where is my order 10234?" (after German,
# Turkish and Dutch), where the accurate models put it first by far.
SCREENED = 4


@dataclass(frozen=True, slots=True)
class Detected:
    language: str | None  # ISO 639-1, None when too short or too unsure to tell
    confidence: float


class LanguageDetection:
    """Build once per process (``shared()``).

    Two stages, because lingua's accurate models cost about 0.25 s of CPU per Latin-script
    language to load, holding the GIL, and a one-shot command (`switchboard nlu parse`) should
    not load ten languages to read one sentence. A screen with only the trigram models (all
    candidates, a tenth of a second to load) names the few plausible languages; the accurate
    models decide among those. Measured on 771 labelled en/fr support messages: as many
    right (729 against 726) and none wrong, as with the accurate models over every candidate;
    gibberish is given a language a little more often (19 of 80 against 15), which the
    out-of-scope detector, not the language, turns away. The server loads every candidate's
    models at start-up in a thread (``preload``) so no customer waits on a model."""

    def __init__(self) -> None:
        self._screen: LanguageDetector = (
            LanguageDetectorBuilder.from_languages(*CANDIDATES).with_low_accuracy_mode().build()
        )
        # lingua keeps each language's models once per process, whichever detector asked for
        # them; a detector per candidate set is only its list of languages.
        self._precise: dict[frozenset[Language], LanguageDetector] = {}

    def preload(self) -> None:
        """Load every candidate's accurate models now (seconds, holding the GIL)."""
        LanguageDetectorBuilder.from_languages(*CANDIDATES).with_preloaded_language_models().build()

    def detect(self, text: str) -> Detected:
        if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
            return Detected(None, 0.0)
        screened = self._screen.compute_language_confidence_values(text)[:SCREENED]
        if not screened:
            return Detected(None, 0.0)
        values = self._confidences(text, frozenset(v.language for v in screened))
        best_language, best = values[0]
        runner_up = values[1][1] if len(values) > 1 else 0.0
        if best < MIN_CONFIDENCE or best < MIN_LEAD * runner_up:
            return Detected(None, best)
        return Detected(_iso(best_language), best)

    def best_among(self, text: str, codes: frozenset[str]) -> str | None:
        """For a text too short to tell in general ("bonjour", "merci"): the most likely of
        the given languages, when it clearly leads them. Used to answer in the right one."""
        if sum(ch.isalpha() for ch in text) < 2:
            return None
        languages = frozenset(lang for lang in CANDIDATES if _iso(lang) in codes)
        if not languages:
            return None
        values = self._confidences(text, languages)
        best_language, best = values[0]
        runner_up = values[1][1] if len(values) > 1 else 0.0
        return _iso(best_language) if best >= MIN_LEAD * runner_up and best > 0 else None

    def _confidences(
        self, text: str, languages: frozenset[Language]
    ) -> list[tuple[Language, float]]:
        """The accurate models' confidences among ``languages``, highest first."""
        if len(languages) == 1:
            return [(next(iter(languages)), 1.0)]
        detector = self._precise.get(languages)
        if detector is None:
            detector = LanguageDetectorBuilder.from_languages(*languages).build()
            self._precise[languages] = detector
        return [(v.language, v.value) for v in detector.compute_language_confidence_values(text)]


@functools.cache
def shared() -> LanguageDetection:
    return LanguageDetection()


def _iso(language: Language) -> str:
    code: IsoCode639_1 = language.iso_code_639_1
    return str(code.name).lower()
