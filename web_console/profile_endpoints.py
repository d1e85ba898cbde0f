"""Editing the customer of a conversation from the context panel: name, email, phone,
notes, labels and time zone."""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console import labels as rules
from web_console.port import ContactEdit
from web_console.requests import ask, console_of, parse_body, worker

# Digits with the signs people write numbers with; at least five digits.
_PHONE = re.compile(r"\+?[0-9 ().\-/]{5,32}")


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class ContactPatch(BaseModel):
    """Each field optional; "" clears it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | Literal[""] | None = None
    phone: str | None = Field(default=None, max_length=32)
    notes: str | None = Field(default=None, max_length=5000)
    labels: list[str] | None = Field(default=None, max_length=100)
    time_zone: str | None = Field(default=None, max_length=64)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value and (not _PHONE.fullmatch(value) or sum(c.isdigit() for c in value) < 5):
            raise ValueError("a phone number is digits, with + ( ) . - / and spaces")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value and value not in _zones():
            raise ValueError("a time zone such as Europe/Paris or America/New_York")
        return value


async def edit_contact(request: Request) -> Response:
    """
    summary: Edit the conversation's customer
    description: >
      Set any of name, email, phone, notes, labels (as conversation labels are checked) and
      time_zone (an IANA name); "" clears a field. Recorded in the audit log as
      contact.updated with the fields' names; the customer's conversations are updated live.
    requestBody:
      content:
        application/json:
          schema:
            type: object
            properties:
              name: {type: string, maxLength: 200}
              email: {type: string}
              phone: {type: string, maxLength: 32}
              notes: {type: string, maxLength: 5000}
              labels: {type: array, items: {type: string}}
              time_zone: {type: string, maxLength: 64}
    responses:
      200: {description: the conversation, with its customer as now named}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: your role in this brand only reads, or Origin not allowed}
      404: {description: no such conversation}
      422: {description: "a field that cannot be stored (the message says which), or none"}
    """
    agent = await worker(request)
    body = parse_body(ContactPatch, await request.body())
    try:
        labels = tuple(rules.labels(body.labels)) if body.labels is not None else None
    except rules.NotALabel as exc:
        raise HTTPException(422, f"labels: {exc}") from None
    change = ContactEdit(
        name=body.name,
        email=None if body.email is None else str(body.email),
        phone=body.phone,
        notes=body.notes,
        labels=labels,
        time_zone=body.time_zone,
    )
    if not change.changed():
        raise HTTPException(422, "body: give at least one field to change")
    backend = console_of(request).backend
    return JSONResponse(await ask(backend.edit_contact(agent, request.path_params["id"], change)))
