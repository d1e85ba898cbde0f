"""An ASGI app served as a node serves it (server.http.server_config: its protocols, its
settings) on a free loopback port, for tests that need the real socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp

from server.http.app import server_config
from server.settings import Settings


@asynccontextmanager
async def served(app: ASGIApp, settings: Settings | None = None) -> AsyncIterator[int]:
    """Serve ``app`` until the block ends; yields the port it listens on."""
    server = uvicorn.Server(server_config(app, settings or Settings(host="127.0.0.1", port=0)))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:
                if task.done():
                    task.result()  # it failed to start: its error
                await asyncio.sleep(0.02)
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        await task
