"""The XSS payloads of tests/e2e/test_xss.py: each base vector of ``vectors.txt`` in each
variant below (66 vectors x 8 variants = 528 payloads).

A vector is written once with ``{js}`` (code that sets ``window.__xss`` and calls ``alert``)
and ``{url}`` (the attacker's host); the variants put it where a careless renderer would let
it out: as it is, after a closing quote of a double- or single-quoted attribute, after the
end tags of raw-text elements, HTML-entity encoded and URL encoded (which a renderer that
decodes before inserting markup would undo), wrapped in unicode direction and zero-width
characters, and with its spaces as line breaks (tags split across lines).
"""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

VECTORS = Path(__file__).with_name("vectors.txt")
JS = "window.__xss=1;alert(1)"
ATTACKER = "attacker.test"
URL = f"http://{ATTACKER}"

VARIANTS: dict[str, Callable[[str], str]] = {
    "plain": lambda v: v,
    "double-quote": lambda v: '">' + v,
    "single-quote": lambda v: "'>" + v,
    "raw-text-closers": lambda v: "</textarea></title></style></script>" + v,
    "entities": lambda v: html.escape(v, quote=True),
    "url-encoded": lambda v: urllib.parse.quote(v, safe=""),
    # RIGHT-TO-LEFT OVERRIDE before, ZERO WIDTH SPACE and JOINER inside the first tag name.
    "unicode": lambda v: "\u202e" + v.replace("<", "<\u200b\u200d", 1),
    "line-breaks": lambda v: v.replace(" ", "\n"),
}


@dataclass(frozen=True)
class Payload:
    number: int  # its index in payloads(), 0-based
    vector: int  # line-order index of the base vector
    variant: str
    text: str


def vectors() -> list[str]:
    lines = VECTORS.read_text(encoding="utf-8").splitlines()
    return [
        line.replace("{js}", JS).replace("{url}", URL)
        for line in lines
        if line.strip() and not line.startswith("#")
    ]


def payloads() -> list[Payload]:
    made: list[Payload] = []
    for variant, make in VARIANTS.items():
        for index, vector in enumerate(vectors()):
            made.append(Payload(len(made), index, variant, make(vector)))
    return made
