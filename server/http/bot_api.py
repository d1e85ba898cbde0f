"""The small HTTP API Rasa's action server calls back (``/api/bot/orders/{number}``): the same
order lookup the embedded engine's custom action makes in-process."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import store
from server.errors import MalformedRequest, NotFound
from server.http.auth import require_bearer
from server.http.inputs import services
from server.http.responses import JSON

ORDER_NUMBER_MAX = 32


async def order(request: Request) -> Response:
    """
    summary: Look up an order for the bot (Rasa custom actions), bearer token required
    description: >
      The order is looked up in the brand of the conversation asking (Rasa's sender id is
      the conversation id): one brand's bot never tells another brand's orders.
    parameters:
      - {name: conversation, in: query, required: true, schema: {type: string, maxLength: 64}}
      - {name: language, in: query, required: false, schema: {type: string, enum: [en, fr]}}
    responses:
      200: {description: status and how it reads in the language}
      400: {description: malformed order number, or no conversation named}
      401: {description: missing or wrong SWITCHBOARD_BOT_API_TOKEN}
      404: {description: no such order, or the bot API is disabled}
    """
    expected = services(request).settings.bot_api_token
    if expected is None:
        raise NotFound("the bot API is disabled (no bot API token)")
    require_bearer(request, expected.get_secret_value(), "bot API token")
    number = request.path_params["number"]
    if not number or len(number) > ORDER_NUMBER_MAX or not number.lstrip("#").isalnum():
        raise MalformedRequest("an order number is letters and digits")
    conversation = request.query_params.get("conversation", "")
    if not conversation or len(conversation) > 64:
        raise MalformedRequest("conversation: name the conversation asking (Rasa's sender id)")
    language = request.query_params.get("language", "en")
    async with services(request).pool.acquire() as conn:
        found = await store.order_by_number(conn, number, conversation)
    if found is None:
        raise NotFound(f"no order {number}")
    return JSON(store.describe_order(found, language))


routes = [Route("/api/bot/orders/{number}", order, methods=["GET"])]
