"""The handoff summary of a conversation, the chat model's when one is configured: asked on
the side by the context panel, which already shows the extractive summary from the context
call, so a slow model never delays it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console.requests import ask, console_of, reader


async def get_summary(request: Request) -> Response:
    """
    summary: The handoff summary of a conversation, with a chat model's when configured
    description: >
      `extractive` is always there: one paragraph (`text`) saying what the customer wants
      (`wants`), what the bot tried (`tried`) and why it stopped (`stopped`), and the key
      facts (`facts`: order numbers, emails, amounts with their currency, dates), each with
      the `message_id` and `seq` of the message it came from. With SWITCHBOARD_LLM_URL set,
      `abstractive` holds the chat model's summary and up to three reply drafts in the
      customer's language (`llm` is "ready"); when the model fails, answers nonsense or takes
      longer than SWITCHBOARD_LLM_TIMEOUT_SECONDS, `llm` is "unavailable" and `abstractive`
      null; without a model, "off". The conversation's text goes to the model only when
      SWITCHBOARD_LLM_URL is set (docs/handoff-summary.md).
    responses:
      200: {description: "extractive, abstractive, llm"}
      401: {description: not logged in}
      403: {description: your roles do not include conversations}
      404: {description: no such conversation}
    """
    agent = await reader(request)
    backend = console_of(request).backend
    return JSONResponse(await ask(backend.summary(agent, request.path_params["id"])))
