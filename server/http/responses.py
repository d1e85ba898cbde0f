"""The one JSON response the server's routes answer with (orjson: fast, and it writes UUIDs and
datetimes itself; anything else it cannot encode, such as a Decimal, is written as text)."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, Field
from starlette.responses import Response


class JSON(Response):
    """``application/json`` encoded by orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=str, option=orjson.OPT_NON_STR_KEYS)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSON:
    """Every refusal has one shape: ``{"error": "<field>: <what is wrong>"}``."""
    return JSON({"error": message}, status_code=status, headers=headers)


class ErrorBody(BaseModel):
    """The body of every refusal, and of a 500."""

    error: str = Field(description="<field>: <what is wrong>, or what went wrong")
