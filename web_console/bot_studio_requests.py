"""What the bot studio's routes (web_console/bot_studio_endpoints.py and
bot_version_endpoints.py, issue 19) share: the request bodies they accept, and how the studio's
answers and refusals are written (a refusal as ``{error, reason, path, line}``, with its status:
the project's file and line when an edit would break it)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from web_console import access
from web_console.bot_studio_port import (
    BotStudioPort,
    ButtonIn,
    EditRefused,
    ExampleIn,
    SpanIn,
    VariationIn,
)
from web_console.port import Agent
from web_console.requests import console_of, current_agent

NAME = r"^[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,160}$"
LINE_MAX = 2_000


class SpanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: int = Field(ge=0, le=LINE_MAX)
    end: int = Field(ge=1, le=LINE_MAX)
    entity: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,80}$")
    value: str | None = Field(default=None, max_length=LINE_MAX)
    role: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]{1,80}$")
    group: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-]{1,80}$")


class ExampleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=LINE_MAX)
    entities: list[SpanBody] = Field(default_factory=list, max_length=50)

    def value(self) -> ExampleIn:
        spans = tuple(
            SpanIn(s.start, s.end, s.entity, s.value or None, s.role, s.group)
            for s in self.entities
        )
        return ExampleIn(self.text, spans)


class Saved(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The version's message (what the designer says of the save); the edit's summary if empty.
    message: str = Field(default="", max_length=500)


class NewIntent(Saved):
    name: str = Field(pattern=NAME)
    examples: list[ExampleBody] = Field(default_factory=list, max_length=500)


class NewExamples(Saved):
    intent: str = Field(pattern=NAME)
    examples: list[ExampleBody] = Field(min_length=1, max_length=500)


class ExampleEdit(Saved):
    intent: str = Field(pattern=NAME)
    old: str = Field(min_length=1, max_length=LINE_MAX)  # the example's plain text or markup
    example: ExampleBody


class ExampleRemoval(Saved):
    intent: str = Field(pattern=NAME)
    old: str = Field(min_length=1, max_length=LINE_MAX)


class ListBody(Saved):
    name: str = Field(min_length=1, max_length=200)
    values: list[str] = Field(max_length=5_000)


class ButtonBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    payload: str = Field(default="", max_length=500)


class ConditionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slot: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,80}$")
    value: str | None = Field(default=None, max_length=200)


class VariationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(default=None, max_length=5_000)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")
    buttons: list[ButtonBody] = Field(default_factory=list, max_length=20)
    image: str | None = Field(default=None, pattern=r"^https?://\S{1,2000}$")
    conditions: list[ConditionBody] = Field(default_factory=list, max_length=10)

    def value(self) -> VariationIn:
        return VariationIn(
            text=self.text if self.text and self.text.strip() else None,
            language=self.language,
            buttons=tuple(ButtonIn(b.title, b.payload or b.title) for b in self.buttons),
            image=self.image,
            conditions=tuple((c.slot, c.value) for c in self.conditions if c.slot != "language"),
        )


class ResponseBody(Saved):
    variations: list[VariationBody] = Field(min_length=1, max_length=50)


class FileBody(Saved):
    text: str = Field(max_length=5_000_000)


class StepBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["intent", "action", "slot", "loop"]
    name: str = Field(max_length=161)
    value: str | None = Field(default=None, max_length=500)


class FlowBody(Saved):
    kind: Literal["rule", "story"]
    name: str = Field(min_length=1, max_length=300)
    # The rule's or story's name before this edit; absent: a new one.
    original: str | None = Field(default=None, min_length=1, max_length=300)
    steps: list[StepBody] = Field(min_length=1, max_length=200)


class FlowRemoval(Saved):
    kind: Literal["rule", "story"]
    name: str = Field(min_length=1, max_length=300)


async def designer(request: Request) -> Agent:
    agent = await current_agent(request)
    if not access.may_design(agent):
        raise HTTPException(403, "bot designers and admins only")
    return agent


def studio(request: Request) -> BotStudioPort:
    found = console_of(request).backend.bot_studio
    if found is None:
        raise HTTPException(409, "the bot studio is not set up on this server")
    return found


def json_response(value: object, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status, media_type="application/json")


async def studio_call(call: Awaitable[object], status: int = 200) -> Response:
    """The studio's answer, or its refusal as ``{error, reason, path, line}`` with its
    status (the project's file and line when the edit would break it)."""
    try:
        return json_response(await call, status)
    except EditRefused as refused:
        where = (
            f"{refused.path}:{refused.line}: "
            if refused.path and refused.line
            else f"{refused.path}: "
            if refused.path
            else ""
        )
        body = {
            "error": f"{where}{refused.reason}",
            "reason": refused.reason,
            "path": refused.path,
            "line": refused.line,
        }
        return json_response(body, refused.status)
