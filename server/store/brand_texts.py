"""A brand's words to its customers: the web chat's greeting and the closing message sent when
a conversation is resolved, per language. A brand that has not written its own gets the
defaults below (English and French, the languages the widget and the survey speak)."""

from __future__ import annotations

from typing import Literal, TypedDict, get_args
from uuid import UUID

from server.store.views import Conn, iso

Kind = Literal["greeting", "closing"]
KINDS: tuple[Kind, ...] = get_args(Kind)
# The languages every brand is shown with defaults; a brand may add its own text in others.
LANGUAGES = ("en", "fr")
FALLBACK = "en"
MAX_CHARS = 2000

DEFAULTS: dict[Kind, dict[str, str]] = {
    "greeting": {
        "en": "Hi! How can we help you today?",
        "fr": "Bonjour ! Comment pouvons-nous vous aider ?",
    },
    "closing": {
        "en": "Thank you for contacting us. We have marked this conversation as resolved; "
        "write again here whenever you need us.",
        "fr": "Merci de nous avoir contactés. Nous avons marqué cette conversation comme "
        "résolue ; écrivez-nous ici dès que vous en avez besoin.",
    },
}


class BrandText(TypedDict):
    kind: str
    language: str
    text: str
    # False: the default words (no text of the brand's own).
    custom: bool
    updated_at: str | None


def default_text(kind: Kind, language: str | None) -> str:
    texts = DEFAULTS[kind]
    return texts.get(language or FALLBACK, texts[FALLBACK])


async def text_for(conn: Conn, brand_id: str, kind: Kind, language: str | None) -> str:
    """The brand's words in the language: its own, else the default in that language, else
    its own in English, else the English default."""
    wanted = language or FALLBACK
    rows = await conn.fetch(
        "SELECT language, text FROM brand_messages"
        " WHERE brand_id = $1 AND kind = $2 AND language = ANY($3::text[])",
        UUID(brand_id),
        kind,
        [wanted, FALLBACK],
    )
    own = {r["language"]: r["text"] for r in rows}
    if wanted in own:
        return str(own[wanted])
    if wanted in DEFAULTS[kind]:
        return DEFAULTS[kind][wanted]
    return str(own.get(FALLBACK) or DEFAULTS[kind][FALLBACK])


async def texts_of(conn: Conn, brand_id: str) -> list[BrandText]:
    """Every text of the brand: each kind in each default language (its own words or the
    default) and any other language it wrote, by kind then language."""
    rows = await conn.fetch(
        "SELECT kind, language, text, updated_at FROM brand_messages WHERE brand_id = $1",
        UUID(brand_id),
    )
    own = {(r["kind"], r["language"]): r for r in rows}
    found: list[BrandText] = []
    for kind in KINDS:
        languages = sorted({*LANGUAGES, *(lang for k, lang in own if k == kind)})
        for language in languages:
            row = own.get((kind, language))
            found.append(
                BrandText(
                    kind=kind,
                    language=language,
                    text=row["text"] if row else default_text(kind, language),
                    custom=row is not None,
                    updated_at=iso(row["updated_at"]) if row else None,
                )
            )
    return found


async def put_text(
    conn: Conn, brand_id: str, kind: Kind, language: str, text: str, agent_id: str | None
) -> BrandText:
    row = await conn.fetchrow(
        """INSERT INTO brand_messages (brand_id, kind, language, text, updated_by)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (brand_id, kind, language)
           DO UPDATE SET text = EXCLUDED.text, updated_by = EXCLUDED.updated_by,
                         updated_at = now()
           RETURNING updated_at""",
        UUID(brand_id),
        kind,
        language,
        text,
        UUID(agent_id) if agent_id else None,
    )
    assert row is not None
    return BrandText(
        kind=kind, language=language, text=text, custom=True, updated_at=iso(row["updated_at"])
    )


async def drop_text(conn: Conn, brand_id: str, kind: Kind, language: str) -> bool:
    """Back to the default words; False when the brand had none of its own."""
    dropped = await conn.fetchval(
        "DELETE FROM brand_messages WHERE brand_id = $1 AND kind = $2 AND language = $3"
        " RETURNING true",
        UUID(brand_id),
        kind,
        language,
    )
    return bool(dropped)
