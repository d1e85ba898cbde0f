"""What NLU reads of a long message: its opening, bounded, whatever the message's size."""

from __future__ import annotations

from nlu.base import UNKNOWN, Interpretation
from nlu.understanding import NLU_MAX_CHARS, Understanding


class _Recording:
    """An interpreter that remembers the text it was given."""

    kind = "recording"
    languages = frozenset({"en"})
    wants_history = False

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def parse(self, text: str) -> Interpretation:
        self.seen.append(text)
        return Interpretation(text=text, intent=UNKNOWN, confidence=0.0, engine=self.kind)


async def test_a_100000_character_mail_is_read_to_its_opening_only() -> None:
    engine = _Recording()
    understanding = Understanding(engine)  # type: ignore[arg-type]
    opening = "My order 10234 arrived broken and I am really upset about it. "
    text = opening + "> quoted history line\n" * 5000
    assert len(text) > 100_000
    result = await understanding.understand(text, None)
    assert [len(t) for t in engine.seen] == [NLU_MAX_CHARS]
    assert engine.seen[0].startswith(opening)
    assert result.language == "en"
    assert result.sentiment is not None
    assert result.sentiment < 0
