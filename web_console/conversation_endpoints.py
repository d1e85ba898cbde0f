"""The console's conversation endpoints: list, read, reply (with files), claim, transfer,
resolve, merge contacts, hand back to the bot, and download a message's files."""

from __future__ import annotations

import re
import uuid

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console import labels as rules
from web_console.port import ListFilter
from web_console.requests import (
    BIGINT_MAX,
    POSITION_MAX,
    Merge,
    Reply,
    Transfer,
    ask,
    console_of,
    download,
    parse_body,
    reader,
    worker,
)
from web_console.uploads import reply_form

OPEN_STATUSES = ["bot", "queued", "assigned"]
ALL_STATUSES = {"bot", "queued", "assigned", "resolved"}


async def claim(request: Request) -> Response:
    """
    summary: Take a conversation from the queue (or from the bot)
    responses:
      200: {description: the conversation, now yours}
      401: {description: not logged in}
      403: {description: Origin not allowed}
      404: {description: no such conversation}
      409: {description: resolved, someone else's, or you are at capacity}
    """
    agent = await worker(request)
    backend = console_of(request).backend
    return JSONResponse(await ask(backend.claim(agent, request.path_params["id"])))


async def transfer(request: Request) -> Response:
    """
    summary: Transfer a conversation to an agent or a team
    body: Transfer
    responses:
      200: {description: the conversation after the transfer}
      400: {description: body is not JSON}
      401: {description: not logged in}
      403: {description: Origin not allowed}
      404: {description: no such conversation, agent or team}
      409: {description: "resolved, someone else's, or the agent is offline or full"}
      422: {description: not exactly one of agent_id and team_id}
    """
    agent = await worker(request)
    body = parse_body(Transfer, await request.body())
    backend = console_of(request).backend
    view = await ask(
        backend.transfer(agent, request.path_params["id"], body.agent_id, body.team_id)
    )
    return JSONResponse(view)


async def resolve(request: Request) -> Response:
    """
    summary: Resolve a conversation
    description: The customer's next message opens a new conversation, offered first to you.
    responses:
      200: {description: the resolved conversation}
      401: {description: not logged in}
      403: {description: Origin not allowed}
      404: {description: no such conversation}
      409: {description: already resolved, or someone else's}
    """
    agent = await worker(request)
    backend = console_of(request).backend
    return JSONResponse(await ask(backend.resolve(agent, request.path_params["id"])))


async def list_conversations(request: Request) -> Response:
    """
    summary: Conversations, latest activity first, 200 a page
    parameters:
      - {name: status, in: query, required: false,
         description: "comma-separated statuses (bot, queued, assigned, resolved);
                       default: the open ones",
         schema: {type: string}}
      - {name: before, in: query, required: false,
         description: "the `next_before` of the previous page",
         schema: {type: string, maxLength: 100}}
      - {name: channel, in: query, required: false,
         schema: {type: string, enum: [webchat, email, telegram, slack]}}
      - {name: brand, in: query, required: false, description: a brand's id,
         schema: {type: string, format: uuid}}
      - {name: team, in: query, required: false, description: a team's id,
         schema: {type: string, format: uuid}}
      - {name: language, in: query, required: false, description: "e.g. en, fr",
         schema: {type: string, maxLength: 16}}
      - {name: label, in: query, required: false, schema: {type: string, maxLength: 40}}
    responses:
      200:
        description: >
          the conversations, `next_before` (null after the last page) and the newest event
          id: open the console WebSocket with it in `hello` to receive everything that
          happens after this list
      401: {description: not logged in}
      403: {description: your roles do not include conversations}
      422: {description: "unknown status or channel, a malformed id, language or label,
                          or a cursor this list did not give"}
    """
    agent = await reader(request)
    raw = request.query_params.get("status")
    statuses = raw.split(",") if raw else OPEN_STATUSES
    if not set(statuses) <= ALL_STATUSES:
        raise HTTPException(422, f"status: must be among {sorted(ALL_STATUSES)}")
    before = request.query_params.get("before")
    if before is not None and len(before) > 100:
        raise HTTPException(422, "before: not a cursor this list gave")
    backend = console_of(request).backend
    last_event_id = await backend.last_event_id()  # first, so nothing falls between
    items, cursor = await ask(backend.conversations(agent, statuses, before, list_filter(request)))
    return JSONResponse(
        {"conversations": items, "next_before": cursor, "last_event_id": last_event_id}
    )


CHANNELS = ("webchat", "email", "telegram", "slack")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})?")


def list_filter(request: Request) -> ListFilter:
    """The list's filters from the query, each checked (422 naming the one at fault)."""
    query = request.query_params
    channel = query.get("channel")
    if channel is not None and channel not in CHANNELS:
        raise HTTPException(422, f"channel: must be one of {', '.join(CHANNELS)}")
    ids = {}
    for name in ("brand", "team"):
        value = query.get(name)
        if value is not None:
            try:
                ids[name] = str(uuid.UUID(value))
            except ValueError:
                raise HTTPException(422, f"{name}: not an id") from None
    language = query.get("language")
    if language is not None and not _LANGUAGE.fullmatch(language):
        raise HTTPException(422, "language: a language code such as en or fr")
    raw_label = query.get("label")
    try:
        label = rules.label(raw_label) if raw_label is not None else None
    except rules.NotALabel as exc:
        raise HTTPException(422, f"label: {exc}") from None
    return ListFilter(channel, ids.get("brand"), ids.get("team"), language, label)


async def search(request: Request) -> Response:
    """
    summary: Search messages and customers
    description: >
      Messages whose words match `q` (websearch syntax: "a phrase", -word, or), newest
      first, 50 a page (ask again with `before` = `next_before`); and, on the first page,
      conversations of customers whose name or address matches. Only in conversations you
      may see.
    parameters:
      - {name: q, in: query, required: true, schema: {type: string, minLength: 1, maxLength: 200}}
      - {name: before, in: query, required: false, schema: {type: integer, minimum: 1}}
    responses:
      200: {description: "messages, conversations, next_before"}
      401: {description: not logged in}
      403: {description: your roles do not include conversations}
      422: {description: "q missing, too long or holding NUL, or before not a positive integer"}
    """
    agent = await reader(request)
    query = request.query_params.get("q", "").strip()
    if not query or len(query) > 200:
        raise HTTPException(422, "q: 1 to 200 characters")
    if "\x00" in query:  # Postgres cannot take U+0000 in text (schemathesis found the 500)
        raise HTTPException(422, "q may not contain the NUL character (U+0000)")
    raw = request.query_params.get("before")
    if raw is not None and (not raw.isdigit() or len(raw) > 18 or int(raw) < 1):
        raise HTTPException(422, "before: must be a positive integer")
    backend = console_of(request).backend
    found = await backend.search(agent, query, int(raw) if raw else None)
    return JSONResponse(found)


async def get_conversation(request: Request) -> Response:
    """
    summary: One conversation
    responses:
      200: {description: the conversation}
      401: {description: not logged in}
      404: {description: no such conversation}
    """
    agent = await reader(request)
    backend = console_of(request).backend
    return JSONResponse(await ask(backend.conversation(agent, request.path_params["id"])))


async def get_context(request: Request) -> Response:
    """
    summary: The context panel of a conversation, in one call
    description: >
      Who the customer is (every identity across channels, VIP, tier, value, whether the
      widget's visitor was verified), their other conversations that you may see with how
      each ended, their orders, the customer message that made the bot hand over, the
      sentiment of their messages in order, this conversation's rating survey once it
      was resolved (csat: asked_at, rating 1-5, comment, answered_at; null before), and the
      knowledge-base articles used in it (articles: article_id, title, url, kind
      shown_by_bot / suggested_to_agent / sent_by_agent, position, message_id, shown_at,
      outcome resolved / not_helpful or null, source customer / agent / follow_up /
      no_handoff or null).
    responses:
      200: {description: "customer, conversations, orders, handoff, sentiment, csat, articles"}
      401: {description: not logged in}
      403: {description: your roles do not include conversations}
      404: {description: no such conversation}
    """
    agent = await reader(request)
    backend = console_of(request).backend
    return JSONResponse(await ask(backend.context(agent, request.path_params["id"])))


async def list_activities(request: Request) -> Response:
    """
    summary: What happened to a conversation besides its messages, oldest first
    description: >
      Handed to a human (and why), assigned (to whom, how, by whom), transferred, put back in
      the queue, returned to the bot, resolved, reopened, a deadline missed. Live, each comes
      as the `activity` of a conversation.updated event.
    responses:
      200: {description: "activities: kind, actor, agent, team, detail, created_at"}
      401: {description: not logged in}
      403: {description: your roles do not include conversations}
      404: {description: no such conversation}
    """
    agent = await reader(request)
    backend = console_of(request).backend
    return JSONResponse(
        {"activities": await ask(backend.activities(agent, request.path_params["id"]))}
    )


async def list_messages(request: Request) -> Response:
    """
    summary: A conversation's messages in seq order
    parameters:
      - {name: after_seq, in: query, required: false, schema: {type: integer, minimum: 0}}
    responses:
      200: {description: up to 500 messages with seq > after_seq}
      401: {description: not logged in}
      404: {description: no such conversation}
      422: {description: after_seq is not a non-negative integer}
    """
    agent = await reader(request)
    raw = request.query_params.get("after_seq", "0")
    if not raw.isdigit() or len(raw) > 9:
        raise HTTPException(422, "after_seq: must be a non-negative integer")
    conversation_id = request.path_params["id"]
    backend = console_of(request).backend
    messages = await ask(backend.messages_after(agent, conversation_id, int(raw)))
    return JSONResponse({"messages": messages})


def _message_id(request: Request) -> int:
    value: int = request.path_params["message_id"]
    if value > BIGINT_MAX:
        raise HTTPException(404, f"no message {value}")
    return value


async def merge_contact(request: Request) -> Response:
    """
    summary: Merge another contact into this conversation's (one person, one history)
    body: Merge
    responses:
      200: {description: the conversation, its contact now holding both identities}
      400: {description: body is not JSON}
      401: {description: not logged in}
      404: {description: no such conversation or contact}
      409: {description: both have an open conversation in one inbox}
      422: {description: invalid body, the same contact, or another brand's}
    """
    agent = await worker(request)
    body = parse_body(Merge, await request.body())
    backend = console_of(request).backend
    view = await ask(backend.merge_contact(agent, request.path_params["id"], body.contact))
    return JSONResponse(view)


async def get_attachment(request: Request) -> Response:
    """
    summary: Download one of a message's attachments
    description: Always served as a download (Content-Disposition attachment, nosniff), so
      a customer's file is never rendered inside the console's origin.
    responses:
      200: {description: the file}
      401: {description: not logged in}
      404: {description: no such attachment}
    """
    agent = await reader(request)
    position: int = request.path_params["n"]
    if position > POSITION_MAX:
        raise HTTPException(404, "no such attachment")
    backend = console_of(request).backend
    filename, content_type, content = await ask(
        backend.attachment(agent, _message_id(request), position)
    )
    return download(content, filename, content_type)


async def get_original(request: Request) -> Response:
    """
    summary: Download the raw mail a customer's message came from (.eml)
    responses:
      200: {description: the message as received, message/rfc822}
      401: {description: not logged in}
      404: {description: the message did not come by mail}
    """
    agent = await reader(request)
    message_id = _message_id(request)
    raw = await ask(console_of(request).backend.original(agent, message_id))
    return download(raw, f"message-{message_id}.eml", "message/rfc822")


async def post_message(request: Request) -> Response:
    """
    summary: Reply to the customer
    description: >
      Stored once per client_id (a retried request returns the stored message with 200).
      Replying to an unassigned conversation assigns it to you.
      With files, send multipart/form-data: the same fields, and each file as a part
      named `files` (up to 10 files, 10 MiB each, 25 MiB in all); the text may then be
      empty. Files are stored with the message and go out with it on its channel.
    body: Reply
    requestBody:
      content:
        multipart/form-data:
          schema:
            type: object
            required: [client_id]
            properties:
              text: {type: string, maxLength: 10000}
              client_id: {type: string, pattern: "^[A-Za-z0-9_-]{1,64}$"}
              files: {type: array, items: {type: string, format: binary}, maxItems: 10}
    responses:
      201: {description: the stored message}
      200: {description: the message was already stored for this client_id}
      400: {description: body is not JSON, or a malformed form}
      401: {description: not logged in}
      403: {description: Origin not allowed}
      404: {description: no such conversation}
      409: {description: the conversation is resolved or held by another agent}
      413: {description: a file or the whole upload is too large}
      422: {description: invalid field, an empty file, or neither text nor files}
    """
    agent = await worker(request)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        body, files = await reply_form(request)
    else:
        body, files = parse_body(Reply, await request.body()), []
    backend = console_of(request).backend
    message, duplicate = await ask(
        backend.reply(agent, request.path_params["id"], body.text, body.client_id, files)
    )
    return JSONResponse({"message": message}, status_code=200 if duplicate else 201)


async def return_to_bot(request: Request) -> Response:
    """
    summary: Hand the conversation back to the bot
    description: The bot answers the customer's next message; the handoff reason is cleared.
    responses:
      200: {description: the conversation, now with the bot}
      401: {description: not logged in}
      403: {description: Origin not allowed}
      404: {description: no such conversation}
      409: {description: the conversation is resolved or held by another agent}
    """
    agent = await worker(request)
    backend = console_of(request).backend
    return JSONResponse(await ask(backend.return_to_bot(agent, request.path_params["id"])))
