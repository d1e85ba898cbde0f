"""A long reply cut into parts a channel accepts (Telegram takes 4,096 characters per
message), at the most natural break near each limit: a blank line, a line end, a sentence
end, a space; a hard cut only in text with none of those.

Lengths are counted in UTF-16 code units, as Telegram counts text: an emoji is two, so a
part never goes over the limit whichever way the channel counts.
"""

from __future__ import annotations

BREAKS = ("\n\n", "\n", ". ", "! ", "? ", " ")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fitting(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 code units."""
    used = 0
    for index, character in enumerate(text):
        used += 2 if ord(character) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def segments(text: str, limit: int) -> list[str]:
    """``text`` in order, in parts of at most ``limit`` UTF-16 code units; whitespace at a
    break is dropped, nothing else is. A text that fits is one part as it is; a blank text
    that does not fit is no parts (all of it is whitespace at breaks), never a blank part."""
    if limit < 2:
        raise ValueError("a part must hold at least two characters")
    parts: list[str] = []
    rest = text
    while utf16_length(rest) > limit:
        window = rest[: _fitting(rest, limit)]
        cut = len(window)
        for separator in BREAKS:
            # Only a break in the window's second half: no part much shorter than it need be.
            found = window.rfind(separator, len(window) // 2)
            if found > 0:
                cut = found + len(separator)
                break
        part, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if part:
            parts.append(part)
    if rest.strip() or (not parts and rest == text):
        parts.append(rest)
    return parts
