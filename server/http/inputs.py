"""What a request brings to the server's routes: a JSON body checked by a pydantic model, path
values, and the services the app was built with."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from channels.base import NUL_REFUSED, holds_nul
from server.errors import InvalidInput, MalformedRequest

if TYPE_CHECKING:
    from server.bootstrap import Services

M = TypeVar("M", bound=BaseModel)


def services(request: Request) -> Services:
    """The running services, which ``create_app`` puts on ``app.state``."""
    return cast("Services", request.app.state.services)


def validation_message(exc: ValidationError) -> str:
    """A pydantic error as one line: ``"<field>: <message>"`` for its first problem."""
    first = exc.errors()[0]
    where = ".".join(str(x) for x in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


async def body(request: Request, model: type[M], *, empty: bytes = b"{}") -> M:
    """The request's JSON body checked by ``model``; an empty body reads as ``empty``.

    Raises MalformedRequest (400) for a body that is not JSON and InvalidInput (422) for one
    the model refuses.
    """
    raw = await request.body()
    try:
        data = orjson.loads(raw or empty)
    except orjson.JSONDecodeError:
        raise MalformedRequest("body is not valid JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(validation_message(exc)) from None


def path_value(request: Request, name: str) -> str:
    """A text path parameter; Postgres cannot store U+0000, so it is refused here."""
    value = str(request.path_params[name])
    if holds_nul(value):
        raise InvalidInput(f"{name}: {NUL_REFUSED}")
    return value


def query_value(request: Request, name: str) -> str | None:
    """A text query parameter, or None; U+0000 is refused as in a path."""
    value = request.query_params.get(name)
    if value is not None and holds_nul(value):
        raise InvalidInput(f"{name}: {NUL_REFUSED}")
    return value
