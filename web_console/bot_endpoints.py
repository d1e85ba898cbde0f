"""What the console can read about the bot: which engine answers, the project it was trained
from, and what that Rasa project asks for that the engine does not do (each named with its
file and line and what the engine does instead), for bot designers and admins."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web_console import access
from web_console.requests import console_of, current_agent


async def bot(request: Request) -> Response:
    """
    summary: The bot's engine and what its Rasa project asks for that the engine does not do
    description: >
      `kind` is the engine ("embedded", "rasa" or "none"); for the embedded engine,
      `fingerprint`, `intents` and `languages` describe the trained project and `unsupported`
      lists, one line each, what the project asks for that the engine does not do ("file:line:
      feature: what it does instead"), as `switchboard nlu train` and /readyz say it;
      `error` is the last edit of the project that could not be loaded (the last good model
      still serves).
    responses:
      200: {description: "kind, fingerprint, intents, languages, unsupported, error"}
      401: {description: not logged in}
      403: {description: bot designers and admins only}
    """
    agent = await current_agent(request)
    if not access.may_design(agent):
        raise HTTPException(403, "bot designers and admins only")
    return JSONResponse(await console_of(request).backend.bot(agent))
