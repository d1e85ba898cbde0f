"""The console's teamwork endpoints: internal notes on a conversation, and canned responses
(found by /shortcut, filled in for the conversation, managed per brand)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console.requests import ask, console_of, current_agent, parse_body, reader, worker

# An agent's or a brand's id as the console is given them. Checked here: the store reads them
# as UUIDs, and anything else was a 500 (schemathesis found it).
ID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Id = Annotated[str, Field(pattern=ID_PATTERN)]


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)
    # The ids of the colleagues to tell.
    mentions: list[Id] = Field(default=[], max_length=20)


class Canned(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shortcut: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=10_000)


class NewCanned(Canned):
    brand_id: Id


def _after_id(request: Request) -> int:
    raw = request.query_params.get("after_id", "0")
    if not raw.isdigit() or len(raw) > 18:
        raise HTTPException(422, "after_id: must be a non-negative integer")
    return int(raw)


def _query(request: Request) -> str:
    query = request.query_params.get("q", "")
    if len(query) > 100:
        raise HTTPException(422, "q: at most 100 characters")
    if "\x00" in query:  # Postgres cannot take U+0000 in text (schemathesis found the 500)
        raise HTTPException(422, "q may not contain the NUL character (U+0000)")
    return query


async def list_notes(request: Request) -> Response:
    """
    summary: A conversation's internal notes, oldest first
    parameters:
      - {name: after_id, in: query, required: false, schema: {type: integer, minimum: 0}}
    responses:
      200: {description: "up to 200 notes with id > after_id; ask again from the last id"}
      401: {description: not logged in}
      403: {description: your roles do not include conversations}
      404: {description: no such conversation}
      422: {description: after_id is not a non-negative integer}
    """
    agent = await reader(request)
    after = _after_id(request)
    backend = console_of(request).backend
    notes = await ask(backend.notes(agent, request.path_params["id"], after))
    return JSONResponse({"notes": notes})


async def post_note(request: Request) -> Response:
    """
    summary: Write an internal note (never sent to the customer)
    description: >
      Consoles that may see the conversation receive it as a `note.created` event; the
      colleagues in `mentions` are told.
    body: Note
    responses:
      201: {description: the note}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: your role only reads conversations, or Origin not allowed}
      404: {description: no such conversation}
      422: {description: invalid body, or a mentioned colleague who may not see it}
    """
    agent = await worker(request)
    body = parse_body(Note, await request.body())
    backend = console_of(request).backend
    note = await ask(backend.add_note(agent, request.path_params["id"], body.text, body.mentions))
    return JSONResponse({"note": note}, status_code=201)


async def canned_for_conversation(request: Request) -> Response:
    """
    summary: Canned responses for this conversation, filled in
    description: >
      The conversation's brand's responses whose shortcut starts with `q` (a leading `/`
      is ignored) or whose title contains it, each with `rendered`: the text with
      {{contact.name}}, {{contact.email}}, {{agent.name}} and {{conversation.id}} filled.
    parameters:
      - {name: q, in: query, required: false, schema: {type: string, maxLength: 100}}
    responses:
      200: {description: up to 50 responses}
      401: {description: not logged in}
      403: {description: your roles do not include conversations}
      404: {description: no such conversation}
      422: {description: q too long or holds NUL}
    """
    agent = await reader(request)
    query = _query(request)
    backend = console_of(request).backend
    found = await ask(backend.canned_for(agent, request.path_params["id"], query))
    return JSONResponse({"canned_responses": found})


async def list_canned(request: Request) -> Response:
    """
    summary: Canned responses of a brand, or of every brand you hold a role in
    parameters:
      - {name: brand_id, in: query, required: false, schema: {type: string, maxLength: 64}}
      - {name: q, in: query, required: false, schema: {type: string, maxLength: 100}}
    responses:
      200: {description: up to 50 responses}
      401: {description: not logged in}
      404: {description: no such brand (or none of yours)}
      422: {description: "q too long or holds NUL, or brand_id is not a brand's id"}
    """
    agent = await current_agent(request)
    query = _query(request)
    brand = request.query_params.get("brand_id") or None
    if brand is not None and not re.fullmatch(ID_PATTERN, brand):
        raise HTTPException(422, "brand_id: not a brand's id")
    backend = console_of(request).backend
    return JSONResponse({"canned_responses": await ask(backend.canned(agent, brand, query))})


async def create_canned(request: Request) -> Response:
    """
    summary: Add a canned response to a brand (its supervisors and admins)
    body: NewCanned
    responses:
      201: {description: the response}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: not a supervisor of the brand, or Origin not allowed}
      404: {description: no such brand (or none of yours)}
      409: {description: the brand has this shortcut already}
      422: {description: invalid field or an unknown variable}
    """
    agent = await current_agent(request)
    body = parse_body(NewCanned, await request.body())
    backend = console_of(request).backend
    view = await ask(backend.put_canned(agent, body.brand_id, body.shortcut, body.title, body.text))
    return JSONResponse({"canned_response": view}, status_code=201)


async def change_canned(request: Request) -> Response:
    """
    summary: Change a canned response (its brand's supervisors and admins)
    body: Canned
    responses:
      200: {description: the response}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: not a supervisor of the brand, or Origin not allowed}
      404: {description: no such response (or not of your brands)}
      409: {description: the brand has this shortcut already}
      422: {description: invalid field or an unknown variable}
    """
    agent = await current_agent(request)
    body = parse_body(Canned, await request.body())
    backend = console_of(request).backend
    view = await ask(
        backend.put_canned(
            agent, None, body.shortcut, body.title, body.text, request.path_params["id"]
        )
    )
    return JSONResponse({"canned_response": view})


async def delete_canned(request: Request) -> Response:
    """
    summary: Delete a canned response (its brand's supervisors and admins)
    responses:
      204: {description: deleted}
      401: {description: not logged in}
      403: {description: not a supervisor of the brand, or Origin not allowed}
      404: {description: no such response (or not of your brands)}
    """
    agent = await current_agent(request)
    await ask(console_of(request).backend.delete_canned(agent, request.path_params["id"]))
    return Response(status_code=204)
