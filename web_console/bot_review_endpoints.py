"""The trainer review inbox and the bot's health (issue 19), under /console/api/bot/review,
for bot designers and admins; and the agents' "bot got this wrong" flag on a customer message
of a conversation they may see. The backend's ``bot_review`` (web_console/bot_review_port.py)
scopes every answer to the brands the caller reviews (docs/access.md)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from web_console.bot_review_port import Annotation, BotReviewPort, InboxFilter
from web_console.requests import ask, console_of, current_agent, parse_body, reader

BANDS = ("low", "medium", "high")
STATUSES = ("open", "reviewed", "ignored", "all")
REASONS = ("low_confidence", "fallback", "handoff", "flagged")
NAME = re.compile(r"^[A-Za-z0-9_/-]{1,161}$")
BIGINT_MAX = 2**63 - 1


def _json(value: object, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status, media_type="application/json")


def _review(request: Request) -> BotReviewPort:
    found = console_of(request).backend.bot_review
    if found is None:
        raise HTTPException(409, "the review inbox is not set up on this server")
    return found


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and value not in allowed:
        raise HTTPException(422, f"{name}: one of {', '.join(allowed)}")
    return value


def _text(request: Request, name: str, pattern: re.Pattern[str] = NAME) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and not pattern.match(value):
        raise HTTPException(422, f"{name}: {value[:40]!r} is not a valid value")
    return value


def _day(request: Request, name: str) -> date | None:
    value = request.query_params.get(name) or None
    if value is None:
        return None
    try:
        found = date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{name}: a date as YYYY-MM-DD") from None
    if not 1970 <= found.year <= 9000:
        raise HTTPException(422, f"{name}: a date from 1970 to 9000")
    return found


def _int(request: Request, name: str, low: int, high: int) -> int | None:
    value = request.query_params.get(name) or None
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise HTTPException(422, f"{name}: a whole number from {low} to {high}")
    return int(value)


async def brands(request: Request) -> Response:
    """
    summary: The brands whose bot mistakes you review
    description: Designers review the messages of the brands where they hold the designer
      role, admins every brand's (docs/access.md, "The trainer review inbox").
    responses:
      200: {description: "brands: [{id, slug, name}]"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
    """
    agent = await current_agent(request)
    return _json(await ask(_review(request).brands(agent)))


async def items(request: Request) -> Response:
    """
    summary: The trainer review inbox
    description: >
      Customer messages the bot answered with low confidence (under the bot's threshold),
      fell back on (a fallback, unknown or out-of-scope intent, or an out-of-scope verdict),
      handed to a person, or that an agent flagged; newest first, in the brands you review.
      Each item has the message, the prediction with its ranking and entities, why it is
      here (`reasons`), the agents' flags, the trainer's verdict, what happened next, and
      `group`: items of the page with one group are near-duplicates (WordLlama vectors,
      cosine at least 0.9), for bulk actions. `intents` are the project's, to pick from.
    parameters:
      - {name: brand, in: query, schema: {type: string}, description: a brand's slug}
      - {name: intent, in: query, schema: {type: string},
         description: the predicted intent, or the trainer's}
      - {name: band, in: query, schema: {type: string, enum: [low, medium, high]},
         description: "confidence: low (under the bot's threshold), medium, high (0.8 and up)"}
      - {name: language, in: query, schema: {type: string}}
      - {name: channel, in: query, schema: {type: string}}
      - {name: status, in: query, schema: {type: string, enum: [open, reviewed, ignored, all]},
         description: "default open: not yet reviewed"}
      - {name: reason, in: query,
         schema: {type: string, enum: [low_confidence, fallback, handoff, flagged]}}
      - {name: from, in: query, schema: {type: string, format: date},
         description: "first day (UTC); default 29 days before to"}
      - {name: to, in: query, schema: {type: string, format: date},
         description: "last day, included; default today"}
      - {name: before, in: query, schema: {type: integer},
         description: the previous page's `more`}
      - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 200}}
    responses:
      200:
        description: "items: [{item: {message_id, conversation_id, brand_id, channel,
          language, text, at, intent, confidence, ranking, entities, scope_reasons, reasons,
          band, flags, verdict, next}, group}], more, threshold, intents"
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no such brand among yours}
      422: {description: a bad filter (the error names it)}
    """
    agent = await current_agent(request)
    wanted = InboxFilter(
        brand=_text(request, "brand"),
        intent=_text(request, "intent"),
        band=_choice(request, "band", BANDS),
        language=_text(request, "language"),
        channel=_text(request, "channel"),
        status=_choice(request, "status", STATUSES) or "open",
        reason=_choice(request, "reason", REASONS),
        start=_day(request, "from"),
        end=_day(request, "to"),
        before=_int(request, "before", 1, BIGINT_MAX),
        limit=_int(request, "limit", 1, 200) or 50,
    )
    return _json(await ask(_review(request).items(agent, wanted)))


async def item(request: Request) -> Response:
    """
    summary: One review item with its whole conversation
    description: The item as the inbox lists it (any interpreted customer message of a brand
      you review, reviewed or not), its brand's slug, and the conversation's messages in
      order (its first 500), each customer message with its intent and confidence.
    parameters:
      - {name: message_id, in: path, required: true, schema: {type: integer}}
    responses:
      200: {description: "item, brand, conversation: [{id, seq, author, text, at, intent,
        confidence}]"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no such customer message in the brands you review}
    """
    agent = await current_agent(request)
    message_id = int(request.path_params["message_id"])
    if message_id > BIGINT_MAX:
        raise HTTPException(404, f"no message {message_id}")
    return _json(await ask(_review(request).item(agent, message_id)))


# A message id as the database holds it (a bigint): a larger number is refused here.
MessageId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class Span(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: int = Field(ge=0, le=10_000)
    end: int = Field(ge=1, le=10_000)
    entity: str = Field(pattern=r"^[A-Za-z0-9_-]{1,80}$")
    value: str = Field(default="", max_length=200)


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    messages: list[MessageId] = Field(max_length=500)
    intent: str = Field(min_length=1, max_length=161)
    entities: list[Span] = Field(default_factory=list, max_length=50)


class Ignored(BaseModel):
    model_config = ConfigDict(extra="forbid")
    messages: list[MessageId] = Field(max_length=500)


async def label(request: Request) -> Response:
    """
    summary: Give review items an intent (they become training examples)
    description: >
      Confirms the prediction (the same intent) or picks another, an existing one or a new
      one; each message is written as a training example of the intent in the project's
      files at once (a text already an example of another intent is a 409), and the
      verdicts are recorded with you as the reviewer (audit log `bot.review_labelled`).
      `entities` (one message at a time) are spans of its text, written in Rasa's markup.
      Retrain (POST /console/api/bot/review/retrain) to serve them.
    requestBody:
      content:
        application/json:
          schema:
            type: object
            required: [messages, intent]
            properties:
              messages: {type: array, items: {type: integer}, maxItems: 500}
              intent: {type: string}
              entities:
                type: array
                items:
                  type: object
                  properties: {start: {type: integer}, end: {type: integer},
                    entity: {type: string}, value: {type: string}}
    responses:
      200: {description: "labelled, intent, written_to, added, new_intent"}
      400: {description: body is not valid JSON}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: a message not in the brands you review (nothing is written)}
      409: {description: "the text is already another intent's example, or the engine has
        no project here"}
      422: {description: a bad intent name, entity span or message list}
    """
    agent = await current_agent(request)
    body = parse_body(Labels, await request.body())
    spans = [Annotation(s.start, s.end, s.entity, s.value) for s in body.entities]
    return _json(await ask(_review(request).label(agent, body.messages, body.intent, spans)))


async def ignore(request: Request) -> Response:
    """
    summary: Mark review items "not for the bot"
    description: The messages leave the open inbox and are never written as examples (audit
      log `bot.review_ignored`); labelling them later replaces this verdict.
    requestBody:
      content:
        application/json:
          schema:
            type: object
            required: [messages]
            properties: {messages: {type: array, items: {type: integer}, maxItems: 500}}
    responses:
      200: {description: "labelled, intent (null)"}
      400: {description: body is not valid JSON}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: a message not in the brands you review (nothing is recorded)}
      422: {description: an empty or too long message list}
    """
    agent = await current_agent(request)
    body = parse_body(Ignored, await request.body())
    return _json(await ask(_review(request).label(agent, body.messages, None, [])))


async def retrain(request: Request) -> Response:
    """
    summary: Retrain the bot on its project's files and measure the reviewed set
    description: >
      The embedded engine trains on the files as they are (the reviewed examples included)
      and serves the new model; a broken project is refused and the last good model keeps
      serving (`error` says why). The reviewed messages are parsed with the model before and
      after: `right_before` and `right_after` of `reviewed` get the trainer's intent. Audit
      log `bot.retrained`.
    responses:
      200: {description: "at, agent, fingerprint_before, fingerprint_after, version, reviewed,
        right_before, right_after, accuracy_before, accuracy_after, error"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      409: {description: the server's engine is not the embedded one}
    """
    agent = await current_agent(request)
    return _json(await ask(_review(request).retrain(agent)))


async def health(request: Request) -> Response:
    """
    summary: The bot's health over time in a brand
    description: >
      Per week and per intent: containment, fallback and handoff rates (the Analytics
      figures of docs/metrics.md, computed by the same queries) and the accuracy on reviewed
      messages (confirmed predictions / reviewed, "not for the bot" left out); handoffs by
      reason; and each retrain from the inbox with the reviewed set's accuracy before and
      after it.
    parameters:
      - {name: brand, in: query, required: true, schema: {type: string},
         description: the brand's slug}
      - {name: from, in: query, schema: {type: string, format: date},
         description: "first day; default 12 weeks before to"}
      - {name: to, in: query, schema: {type: string, format: date},
         description: "last day, included; default today"}
      - {name: tz, in: query, schema: {type: string}, description: "IANA zone; default UTC"}
    responses:
      200: {description: "brand, start, end, weeks: [{week, conversations, containment_rate,
        fallback_rate, handoff_rate, reviewed, confirmed, accuracy}], intents: [...],
        handoff_reasons: [{reason, conversations}], trainings: [...]"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
      404: {description: no such brand among yours}
      422: {description: a missing brand, a bad date, range or time zone}
    """
    agent = await current_agent(request)
    brand = _text(request, "brand")
    if brand is None:
        raise HTTPException(422, "brand: the brand's slug is required")
    tz = request.query_params.get("tz") or "UTC"
    if len(tz) > 64:
        raise HTTPException(422, "tz: not a time zone")
    start, end = _day(request, "from"), _day(request, "to")
    return _json(await ask(_review(request).health(agent, brand, start, end, tz)))


class Flag(BaseModel):
    model_config = ConfigDict(extra="forbid")
    intent: str | None = Field(default=None, min_length=1, max_length=161)
    note: str = Field(default="", max_length=1000)


async def flag(request: Request) -> Response:
    """
    summary: Flag a customer message as "the bot got this wrong"
    description: >
      For those who read the conversation (its agents, supervisors and analysts, admins).
      The message arrives in the trainer review inbox with the flag (who, `intent` if you
      know what the customer meant, `note`); flagging again replaces your flag. Audit log
      `bot.flagged`.
    parameters:
      - {name: message_id, in: path, required: true, schema: {type: integer}}
    requestBody:
      content:
        application/json:
          schema:
            type: object
            properties: {intent: {type: string}, note: {type: string, maxLength: 1000}}
    responses:
      201: {description: "message_id, created: true"}
      200: {description: "message_id, created: false (your earlier flag, replaced)"}
      400: {description: body is not valid JSON}
      401: {description: not logged in}
      403: {description: your roles do not include conversations}
      404: {description: no such message among the conversations you may see}
      409: {description: not a customer message the bot interpreted}
      422: {description: a bad intent name or a note too long}
    """
    agent = await reader(request)
    message_id = int(request.path_params["message_id"])
    if message_id > BIGINT_MAX:
        raise HTTPException(404, f"no message {message_id}")
    raw = await request.body()
    body = parse_body(Flag, raw) if raw.strip() else Flag()
    outcome: Any = await ask(_review(request).flag(agent, message_id, body.intent, body.note))
    return _json(outcome, 201 if getattr(outcome, "created", False) else 200)
