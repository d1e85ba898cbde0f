"""A brand's words to its customers, edited in the console: the web chat's greeting and the
closing message sent when a conversation is resolved, per language (its supervisors and
admins; the defaults speak English and French)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console.requests import ask, console_of, current_agent, parse_body
from web_console.teamwork_endpoints import ID_PATTERN

KINDS = ("greeting", "closing")
LANGUAGE = re.compile(r"^[a-z]{2}$")


class BrandTextBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2000)


def _where(request: Request) -> tuple[str, str, str]:
    """(brand id, kind, language) from the path, each checked with a precise 422."""
    brand, kind, language = (request.path_params[k] for k in ("brand_id", "kind", "language"))
    if not re.fullmatch(ID_PATTERN, brand):
        raise HTTPException(422, "brand_id: not a brand's id")
    if kind not in KINDS:
        raise HTTPException(422, "kind: 'greeting' or 'closing'")
    if not LANGUAGE.fullmatch(language):
        raise HTTPException(422, "language: two lower-case letters (ISO 639-1), e.g. 'fr'")
    return brand.lower(), kind, language


async def list_brand_texts(request: Request) -> Response:
    """
    summary: The greeting and closing message of the brands you may edit them in
    description: >
      For each brand where you are a supervisor (every brand for admins): `greeting` (what
      the web chat says first) and `closing` (sent to the customer when a conversation is
      resolved, before the rating question), in English, French and any other language the
      brand wrote; `custom` is false where the default words apply. Other roles get an
      empty list.
    responses:
      200:
        description: >
          {brands: [{brand_id, brand_name, texts: [{kind, language, text, custom,
          updated_at}]}]}
      401: {description: not logged in}
    """
    agent = await current_agent(request)
    brands = await ask(console_of(request).backend.brand_texts(agent))
    return JSONResponse({"brands": brands})


async def put_brand_text(request: Request) -> Response:
    """
    summary: Set a brand's greeting or closing message in one language
    description: Audited as `brand.text_changed`. The customer's language decides which one
      they get; a language the brand has no words in gets the default, else English.
    parameters:
      - {name: brand_id, in: path, required: true, schema: {type: string, format: uuid}}
      - {name: kind, in: path, required: true, schema: {type: string, enum: [greeting, closing]}}
      - {name: language, in: path, required: true, schema: {type: string, pattern: "^[a-z]{2}$"}}
    body: BrandTextBody
    responses:
      200: {description: "the text: {kind, language, text, custom, updated_at}"}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: not a supervisor of the brand, or Origin not allowed}
      404: {description: no such brand (or none of yours)}
      422:
        description: a bad kind, language or brand id, or a text blank or over 2,000 characters
    """
    agent = await current_agent(request)
    brand, kind, language = _where(request)
    body = parse_body(BrandTextBody, await request.body())
    if not body.text.strip():
        raise HTTPException(422, "text: is blank")
    backend = console_of(request).backend
    view = await ask(backend.put_brand_text(agent, brand, kind, language, body.text.strip()))
    return JSONResponse({"text": view})


async def reset_brand_text(request: Request) -> Response:
    """
    summary: Put a brand's greeting or closing message in one language back to the default
    description: Audited as `brand.text_reset` (when the brand had words of its own).
    parameters:
      - {name: brand_id, in: path, required: true, schema: {type: string, format: uuid}}
      - {name: kind, in: path, required: true, schema: {type: string, enum: [greeting, closing]}}
      - {name: language, in: path, required: true, schema: {type: string, pattern: "^[a-z]{2}$"}}
    responses:
      200: {description: "the default text now in use: {kind, language, text, custom: false}"}
      401: {description: not logged in}
      403: {description: not a supervisor of the brand, or Origin not allowed}
      404: {description: no such brand (or none of yours)}
      422: {description: a bad kind, language or brand id}
    """
    agent = await current_agent(request)
    brand, kind, language = _where(request)
    backend = console_of(request).backend
    return JSONResponse({"text": await ask(backend.reset_brand_text(agent, brand, kind, language))})
