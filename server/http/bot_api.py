"""The small HTTP API Rasa's action server calls back (``/api/bot/orders/{number}``): the same
order lookup the embedded engine's custom action makes in-process."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import store
from server.settings import Settings
from server.store import Pool

ORDER_NUMBER_MAX = 32


def bot_api_routes(pool: Pool, settings: Settings) -> list[Route]:
    async def order(request: Request) -> Response:
        """
        summary: Look up an order for the bot (Rasa custom actions), bearer token required
        parameters:
          - {name: number, in: path, required: true, schema: {type: string}}
          - {name: language, in: query, schema: {type: string, enum: [en, fr]}}
        responses:
          200: {description: status and how it reads in the language}
          400: {description: malformed order number}
          401: {description: missing or wrong SWITCHBOARD_BOT_API_TOKEN}
          404: {description: no such order, or the bot API is disabled}
        """
        expected = settings.bot_api_token
        if expected is None:
            return JSONResponse({"error": "the bot API is disabled (no bot API token)"}, 404)
        supplied = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(supplied.encode(), expected.get_secret_value().encode()):
            return JSONResponse({"error": "missing or wrong bot API token"}, 401)
        number = request.path_params["number"]
        if not number or len(number) > ORDER_NUMBER_MAX or not number.lstrip("#").isalnum():
            return JSONResponse({"error": "an order number is letters and digits"}, 400)
        language = request.query_params.get("language", "en")
        async with pool.acquire() as conn:
            found = await store.order_by_number(conn, number)
        if found is None:
            return JSONResponse({"error": f"no order {number}"}, 404)
        return JSONResponse(store.describe_order(found, language))

    return [Route("/api/bot/orders/{number}", order, methods=["GET"])]
