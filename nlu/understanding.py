"""Everything known about one customer message: the engine's interpretation, plus the
language and sentiment Switchboard detects itself (whatever the engine)."""

from __future__ import annotations

import asyncio
import dataclasses

from nlu import language as language_detection
from nlu import sentiment as sentiment_analysis
from nlu.base import UNKNOWN, Interpretation, Interpreter

# What NLU reads of a message: its opening says what it is about, and a mail can carry
# 100,000 characters of quoted history that would cost the classifier, the language detector
# and the sentiment model tens of milliseconds of CPU each, for nothing.
NLU_MAX_CHARS = 2000
# Past this, language and sentiment run in a thread, off the event loop.
INLINE_CHARS = 300


def load_models() -> None:
    """Load the language detector's models (seconds: lingua holds the GIL while it reads
    them) and the sentiment lexicons, so the first customer does not wait for them. Blocking:
    call it in a thread, which ``Understanding.warm_up`` does."""
    language_detection.shared().preload()
    sentiment_analysis.shared()


class Understanding:
    def __init__(self, interpreter: Interpreter | None) -> None:
        self.interpreter = interpreter
        self._languages = language_detection.shared()
        self._sentiment = sentiment_analysis.shared()

    async def warm_up(self) -> None:
        """Load the language models (seconds) before the first customer needs them."""
        await asyncio.to_thread(load_models)

    async def understand(self, text: str, conversation_language: str | None) -> Interpretation:
        text = text[:NLU_MAX_CHARS]
        if self.interpreter is not None:
            parsed = await self.interpreter.parse(text)
        else:
            parsed = Interpretation(text=text, intent=UNKNOWN, confidence=0.0, engine="none")
        if len(text) > INLINE_CHARS:
            return await asyncio.to_thread(self._detect, parsed, text, conversation_language)
        return self._detect(parsed, text, conversation_language)

    def _detect(
        self, parsed: Interpretation, text: str, conversation_language: str | None
    ) -> Interpretation:
        """Language and sentiment (CPU only)."""
        detected = self._languages.detect(text)
        # A short message ("ok", "10234") says little about language: keep the conversation's,
        # or, for a first message, take the likeliest language the bot speaks.
        language = detected.language or conversation_language
        if language is None and self.interpreter is not None:
            language = self._languages.best_among(text, self.interpreter.languages)
        return dataclasses.replace(
            parsed,
            language=language,
            language_confidence=round(detected.confidence, 3),
            sentiment=self._sentiment.score(text, language),
        )
