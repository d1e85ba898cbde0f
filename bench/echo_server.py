"""The baseline: a bare `websockets` echo server, same library and event loop as ours.

Run as ``python -m bench.echo_server``; prints ``port N`` once listening.
"""

from __future__ import annotations

import asyncio

import uvloop
from websockets.asyncio.server import ServerConnection, serve


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def main() -> None:
    # Same frame limit, heartbeat and (no) compression as Switchboard's sockets.
    async with serve(
        echo, "127.0.0.1", 0, max_size=64 * 1024, ping_interval=20, compression=None
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"port {port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    uvloop.run(main())
