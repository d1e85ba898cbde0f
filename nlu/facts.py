"""Key facts in a message's text: order numbers, email addresses, amounts with their currency
and dates, in English and French, each normalised so the same fact written twice is one.

Pure: text (and the entities the NLU already found in it) in, facts out. Relative dates
("yesterday", "hier") are resolved against the day the message was written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from nlu.base import Entity

FactKind = Literal["order", "email", "amount", "date"]

# The shipped project's regexes (nlu/rasa_project/data/nlu.yml), so the summary finds what
# the bot's own entity extractor finds even where no interpretation was stored (bot off,
# a bot or agent message).
EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?![\w-])")
# A bare number of 5-8 digits is an order number only next to a word that says so (a postal
# code or a phone number is not): "order 10234", "commande n° 10234", "#10234".
ORDER = re.compile(
    r"(?:\b(?:orders?|commandes?|colis|parcel)\b\s*(?:(?:number|no\.?|num[ée]ro|n°|nº)\s*)?"
    r"(?:is\s+|est\s+|:\s*)?#?|#)(\d{5,8})(?!\d)",
    re.I,
)
ORDER_ENTITY = "order_number"
EMAIL_ENTITY = "email"

CURRENCIES = {
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "$": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "£": "GBP",
    "gbp": "GBP",
    "pound": "GBP",
    "pounds": "GBP",
    "livres": "GBP",
    "chf": "CHF",
}
_NUMBER = r"\d{1,3}(?:[ \u00a0\u202f,.]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_SYMBOL = r"€|\$|£|\b(?:EUR|USD|GBP|CHF)\b"
_WORD = r"(?:€|\$|£|\b(?:EUR|USD|GBP|CHF|euros?|dollars?|pounds?|livres)\b)"
AMOUNT = re.compile(
    rf"(?:(?P<pre>{_SYMBOL})\s?(?P<n1>{_NUMBER}))|(?:(?<![\w.,])(?P<n2>{_NUMBER})\s?(?P<post>{_WORD}))",
    re.I,
)

MONTHS = {
    name: n
    for n, names in enumerate(
        [
            ("january", "jan", "janvier", "janv"),
            ("february", "feb", "février", "fevrier", "févr", "fevr"),
            ("march", "mar", "mars"),
            ("april", "apr", "avril", "avr"),
            ("may", "mai"),
            ("june", "jun", "juin"),
            ("july", "jul", "juillet", "juil"),
            ("august", "aug", "août", "aout"),
            ("september", "sep", "sept", "septembre"),
            ("october", "oct", "octobre"),
            ("november", "nov", "novembre"),
            ("december", "dec", "décembre", "decembre", "déc"),
        ],
        start=1,
    )
    for name in names
}
DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# Day first, as in French and British English: "3 December", "3rd of Dec 2026", "le 3 déc.".
# The month is any word, checked against MONTHS in code: an alternation of all the month
# names made the regex ten times slower (260 µs for a 250-character message).
_WORDS = r"[^\W\d_]{3,10}"
DATE_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th|er)?\s+(?:of\s+)?({_WORDS})\.?(?:,?\s+(\d{{4}}))?(?!\w)", re.I
)
# Month first, as in American English: "December 3", "Dec 3rd, 2026".
DATE_MONTH_DAY = re.compile(
    rf"\b({_WORDS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?(?!\w)", re.I
)
# Numeric dates are ambiguous (3/12 is March in the US, December in France): kept as written.
DATE_NUMERIC = re.compile(r"(?<![\d/.])(\d{1,2})[/.](\d{1,2})[/.](\d{2}|\d{4})(?![\d/.])")
RELATIVE = {
    "today": 0,
    "aujourd'hui": 0,
    "yesterday": -1,
    "hier": -1,
    "tomorrow": 1,
    "demain": 1,
    "avant-hier": -2,
    "après-demain": 2,
}
DATE_RELATIVE = re.compile(
    # Typed on a phone, "aujourd'hui" often has a typographic apostrophe (U+2019).
    r"(?<![\w-])("
    + "|".join(re.escape(w).replace("'", "['\u2019]") for w in RELATIVE)
    + r")(?![\w-])",
    re.I,
)


@dataclass(frozen=True, slots=True)
class FoundFact:
    """A fact in one text: ``value`` normalised (what makes two mentions the same fact),
    ``text`` as the customer wrote it."""

    kind: FactKind
    value: str
    text: str
    start: int


def facts_in(
    text: str, entities: Iterable[Entity] = (), written: date | None = None
) -> list[FoundFact]:
    """The facts in one message's text, in the order they appear. ``entities`` are those the
    NLU found (its order numbers count even without a word like "order" beside them);
    ``written`` is the day of the message, for "yesterday" and dates without a year."""
    found: list[FoundFact] = []
    for entity in entities:
        if entity.entity == ORDER_ENTITY and entity.value.isdigit():
            found.append(FoundFact("order", entity.value, entity.text, entity.start))
        elif entity.entity == EMAIL_ENTITY and EMAIL.fullmatch(entity.value):
            found.append(FoundFact("email", entity.value.lower(), entity.text, entity.start))
    found.extend(FoundFact("order", m[1], m[0], m.start(1)) for m in ORDER.finditer(text))
    found.extend(FoundFact("email", m[0].lower(), m[0], m.start()) for m in EMAIL.finditer(text))
    taken = [(m.start(), m.end()) for m in EMAIL.finditer(text)]
    for m in AMOUNT.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        value = _amount(m["n1"] or m["n2"], m["pre"] or m["post"])
        if value is not None:
            found.append(FoundFact("amount", value, m[0], m.start()))
    found.extend(_dates(text, written))
    return _distinct(found)


def _amount(number: str, currency: str) -> str | None:
    """ "1.234,50" / "1,234.50" / "49,9" -> "1234.50 EUR": the last separator followed by one
    or two digits is the decimal point, the others group thousands."""
    code = CURRENCIES.get(currency.lower())
    if code is None:
        return None
    digits = re.sub(r"[ \u00a0\u202f]", "", number)
    decimal = re.search(r"[.,](\d{1,2})$", digits)
    whole = digits[: decimal.start()] if decimal else digits
    whole = re.sub(r"[.,]", "", whole)
    cents = (decimal[1] if decimal else "").ljust(2, "0")
    if not whole.isdigit():
        return None
    return f"{int(whole)}.{cents} {code}"


def _dates(text: str, written: date | None) -> list[FoundFact]:
    found: list[FoundFact] = []
    for m in DATE_ISO.finditer(text):
        day = _day(int(m[1]), int(m[2]), int(m[3]))
        if day is not None:
            found.append(FoundFact("date", day.isoformat(), m[0], m.start()))
    for m in _with_month(DATE_DAY_MONTH, text, 2):
        found.extend(_named(m, m[1], m[2], m[3], written))
    for m in _with_month(DATE_MONTH_DAY, text, 1):
        found.extend(_named(m, m[2], m[1], m[3], written))
    for m in DATE_NUMERIC.finditer(text):
        found.append(FoundFact("date", m[0], m[0], m.start()))
    if written is not None:
        for m in DATE_RELATIVE.finditer(text):
            day = written + timedelta(days=RELATIVE[m[1].lower().replace("\u2019", "'")])
            found.append(FoundFact("date", day.isoformat(), m[0], m.start()))
    return found


def _with_month(regex: re.Pattern[str], text: str, group: int) -> Iterator[re.Match[str]]:
    """The regex's matches whose ``group`` is a month's name; a match on another word
    ("paid 49") is passed over one character on, so it hides no date it overlaps."""
    pos = 0
    while (m := regex.search(text, pos)) is not None:
        if m[group].lower() in MONTHS:
            yield m
            pos = m.end()
        else:
            pos = m.start() + 1


def _named(
    m: re.Match[str], day: str, month: str, year: str | None, written: date | None
) -> list[FoundFact]:
    number = MONTHS[month.lower()]
    if year is None and written is None:
        # No year to place it in: kept as written, if such a day exists (2000 was a leap year).
        return (
            []
            if _day(2000, number, int(day)) is None
            else [FoundFact("date", m[0], m[0], m.start())]
        )
    when = _day(int(year) if year else (written.year if written else 1), number, int(day))
    return [] if when is None else [FoundFact("date", when.isoformat(), m[0], m.start())]


def _day(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None  # "31 February" or a number that only looked like a date


def _distinct(found: list[FoundFact]) -> list[FoundFact]:
    """One fact per (kind, value), at its first mention; overlapping spans of the same kind
    (an order entity and the regex on the same digits) count once."""
    seen: set[tuple[str, str]] = set()
    kept: list[FoundFact] = []
    for fact in sorted(found, key=lambda f: f.start):
        key = (fact.kind, fact.value)
        if key not in seen:
            seen.add(key)
            kept.append(fact)
    return kept
