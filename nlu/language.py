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


@dataclass(frozen=True, slots=True)
class Detected:
    language: str | None  # ISO 639-1, None when too short or too unsure to tell
    confidence: float


class LanguageDetection:
    """Build once per process (``shared()``): the first detection loads lingua's models,
    about 4 s, which the server does at start-up in a thread."""

    def __init__(self) -> None:
        self._detector: LanguageDetector = LanguageDetectorBuilder.from_languages(
            *CANDIDATES
        ).build()

    def detect(self, text: str) -> Detected:
        if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
            return Detected(None, 0.0)
        values = self._detector.compute_language_confidence_values(text)
        if not values:
            return Detected(None, 0.0)
        best = values[0]
        runner_up = values[1].value if len(values) > 1 else 0.0
        if best.value < MIN_CONFIDENCE or best.value < MIN_LEAD * runner_up:
            return Detected(None, best.value)
        return Detected(_iso(best.language), best.value)

    def best_among(self, text: str, codes: frozenset[str]) -> str | None:
        """For a text too short to tell in general ("bonjour", "merci"): the most likely of
        the given languages, when it clearly leads them. Used to answer in the right one."""
        if sum(ch.isalpha() for ch in text) < 2:
            return None
        values = [
            (v.value, _iso(v.language))
            for v in self._detector.compute_language_confidence_values(text)
            if _iso(v.language) in codes
        ]
        if not values:
            return None
        values.sort(reverse=True)
        best = values[0]
        runner_up = values[1][0] if len(values) > 1 else 0.0
        return best[1] if best[0] >= MIN_LEAD * runner_up and best[0] > 0 else None


@functools.cache
def shared() -> LanguageDetection:
    return LanguageDetection()


def _iso(language: Language) -> str:
    code: IsoCode639_1 = language.iso_code_639_1
    return str(code.name).lower()
