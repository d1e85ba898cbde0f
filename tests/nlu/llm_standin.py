"""A local stand-in for an OpenAI-compatible chat-completions endpoint, on a free port.

It speaks the documented JSON (POST /v1/chat/completions: ``model``, ``messages``; the answer
``{"id", "object": "chat.completion", "created", "model", "choices": [{"index": 0, "message":
{"role": "assistant", "content": ...}, "finish_reason": "stop"}], "usage": {...}}``) and
records what it was sent. ``mode`` says how it behaves: "ok" answers ``content``, "slow"
holds every request until ``release`` is set (so a client's timeout fires), "garbage" answers
HTML, "prose" a completion whose content is not the JSON asked for, "error" a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

DEFAULT_CONTENT = json.dumps(
    {
        "summary": "The customer wants order 10234, which the bot said was on its way; "
        "they asked for a person.",
        "drafts": [
            "I am sorry for the wait: let me check order 10234 with DHL now.",
            "I have your order 10234 in front of me.",
            "Could you confirm your delivery address?",
        ],
    }
)


@dataclass
class StandIn:
    url: str = ""
    mode: str = "ok"
    content: str = DEFAULT_CONTENT
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def asked(self, count: int, within: float = 30.0) -> None:
        """Wait until ``count`` requests have arrived: a client asks in the background, so
        what it shows meanwhile says nothing of whether its request reached us yet."""
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: len(self.requests) >= count), within
            )

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        async with self.arrived:
            self.arrived.notify_all()
        if self.mode == "slow":
            await self.release.wait()
        if self.mode == "error":
            return JSONResponse({"error": {"message": "model not loaded"}}, status_code=500)
        if self.mode == "garbage":
            return HTMLResponse("<html><body>502 Bad Gateway</body></html>")
        content = (
            "Sure! Here is a summary: the customer is waiting."
            if self.mode == "prose"
            else self.content
        )
        return JSONResponse(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", ""),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
            }
        )


@contextlib.asynccontextmanager
async def llm_standin() -> AsyncIterator[StandIn]:
    """The stand-in, serving until the block ends; its ``url`` is the base to configure
    (``…/v1``, as OpenAI's and vLLM's are)."""
    standin = StandIn()
    app = Starlette(routes=[Route("/v1/chat/completions", standin.completions, methods=["POST"])])
    # No logging config of its own: uvicorn's would lower "uvicorn.error" to WARNING and give
    # "uvicorn" its own handler for the whole process, hiding later tests' log lines.
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        standin.url = f"http://127.0.0.1:{port}/v1"
        yield standin
    finally:
        standin.release.set()
        server.should_exit = True
        await task
