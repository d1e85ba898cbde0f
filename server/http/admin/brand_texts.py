"""The admin API's brand texts: a brand's web chat greeting and the closing message sent when a
conversation is resolved, per language (server/store/brand_texts.py); the console's Supervisor
view edits the same rows for a brand's supervisors."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.errors import InvalidInput
from server.http.admin.audit import note
from server.http.admin.bodies import _Body
from server.http.inputs import body, path_value, services
from server.http.responses import JSON
from server.store import brand_texts
from server.store import organisation as org

LANGUAGE = re.compile(r"^[a-z]{2}$")


class BrandTextBody(_Body):
    text: str = Field(min_length=1, max_length=brand_texts.MAX_CHARS)


def _kind_and_language(request: Request) -> tuple[brand_texts.Kind, str]:
    kind: Literal["greeting", "closing"]
    raw = path_value(request, "kind")
    if raw == "greeting":
        kind = "greeting"
    elif raw == "closing":
        kind = "closing"
    else:
        raise InvalidInput("kind: 'greeting' or 'closing'")
    language = path_value(request, "language")
    if not LANGUAGE.fullmatch(language):
        raise InvalidInput("language: two lower-case letters (ISO 639-1), e.g. 'fr'")
    return kind, language


async def list_texts(request: Request) -> Response:
    """
    summary: A brand's greeting and closing message in each language (admin token)
    description: English and French always (the defaults where the brand has no words of
      its own, `custom` false), and any other language the brand wrote.
    responses:
      200: {description: "{texts: [{kind, language, text, custom, updated_at}]}"}
      401: {description: no admin token}
      404: {description: unknown brand}
    """
    async with services(request).pool.acquire() as conn:
        brand_id = str(await org.brand_id(conn, path_value(request, "slug")))
        return JSON({"texts": await brand_texts.texts_of(conn, brand_id)})


async def put_text(request: Request) -> Response:
    """
    summary: Set a brand's greeting or closing message in one language (admin token)
    body: BrandTextBody
    responses:
      200: {description: the text}
      400: {description: body is not JSON}
      401: {description: no admin token}
      404: {description: unknown brand}
      422: {description: "a kind other than greeting or closing, a language not two letters,
        or a text blank or over 2,000 characters"}
    """
    kind, language = _kind_and_language(request)
    fields = await body(request, BrandTextBody)
    text = fields.text.strip()
    if not text:
        raise InvalidInput("text: is blank")
    async with services(request).pool.acquire() as conn, conn.transaction():
        brand_id = str(await org.brand_id(conn, path_value(request, "slug")))
        view = await brand_texts.put_text(conn, brand_id, kind, language, text, None)
        await note(
            request,
            conn,
            "brand.text_changed",
            brand_id=brand_id,
            target_kind="brand",
            target_id=brand_id,
            detail={"kind": kind, "language": language, "text": text},
        )
    return JSON(view)


async def delete_text(request: Request) -> Response:
    """
    summary: Put a brand's greeting or closing message in one language back to the default
    responses:
      200: {description: the default text now in use}
      401: {description: no admin token}
      404: {description: unknown brand}
      422: {description: a kind other than greeting or closing, or a language not two letters}
    """
    kind, language = _kind_and_language(request)
    async with services(request).pool.acquire() as conn, conn.transaction():
        brand_id = str(await org.brand_id(conn, path_value(request, "slug")))
        if await brand_texts.drop_text(conn, brand_id, kind, language):
            await note(
                request,
                conn,
                "brand.text_reset",
                brand_id=brand_id,
                target_kind="brand",
                target_id=brand_id,
                detail={"kind": kind, "language": language},
            )
    return JSON(
        {
            "kind": kind,
            "language": language,
            "text": brand_texts.default_text(kind, language),
            "custom": False,
            "updated_at": None,
        }
    )


routes = [
    Route("/brands/{slug}/texts", list_texts, methods=["GET"]),
    Route("/brands/{slug}/texts/{kind}/{language}", put_text, methods=["PUT"]),
    Route("/brands/{slug}/texts/{kind}/{language}", delete_text, methods=["DELETE"]),
]
