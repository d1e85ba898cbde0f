"""Labels on conversations, and what the lists may be filtered by."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console import labels as rules
from web_console.requests import ask, console_of, parse_body, reader, worker


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Checked one by one below (rules.labels), so the refusal names the label at fault.
    labels: list[str] = Field(max_length=100)


async def put_labels(request: Request) -> Response:
    """
    summary: Replace a conversation's labels
    description: >
      Labels are free words ("refund", "bug-42"): trimmed, lowercased, inner spaces made "-";
      letters and digits with - _ . : inside, at most 40 characters, at most 20 per
      conversation; duplicates are dropped. Colleagues see the change live.
    requestBody:
      content:
        application/json:
          schema:
            type: object
            required: [labels]
            properties: {labels: {type: array, items: {type: string}}}
    responses:
      200: {description: the conversation with its labels}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: your role in this brand only reads, or Origin not allowed}
      404: {description: no such conversation}
      422: {description: a label that cannot be one (the message says which and why)}
    """
    agent = await worker(request)
    body = parse_body(Labels, await request.body())
    try:
        wanted = rules.labels(body.labels)
    except rules.NotALabel as exc:
        raise HTTPException(422, f"labels: {exc}") from None
    backend = console_of(request).backend
    view = await ask(backend.set_labels(agent, request.path_params["id"], wanted))
    return JSONResponse(view)


async def list_filters(request: Request) -> Response:
    """
    summary: What the conversation lists may be filtered by, within what you may see
    description: >
      The brands and teams you may see, the languages of open conversations, and the labels
      on conversations (most used first, with how many carry each): the options of the
      console's filter bar and the label editor's suggestions.
    responses:
      200: {description: "brands, teams, languages, labels: [{label, conversations}]"}
      401: {description: not logged in}
      403: {description: your roles do not include conversations}
    """
    agent = await reader(request)
    backend = console_of(request).backend
    return JSONResponse(await ask(backend.filter_options(agent)))
