"""Opens N idle sockets to a server and holds them until stdin closes.

``python -m bench.idle_clients switchboard|echo URL N``: prints ``ready K`` when K are open.
Switchboard sockets are real widget sessions: a session each, then a hello.
"""

from __future__ import annotations

import asyncio
import sys

import httpx
import orjson
import uvloop
from websockets.asyncio.client import ClientConnection, connect

CONCURRENCY = 200


async def open_one(kind: str, base: str, http: httpx.AsyncClient) -> ClientConnection:
    ws_base = base.replace("http://", "ws://")
    if kind == "echo":
        return await connect(ws_base, ping_interval=None, open_timeout=60)
    session = (await http.post("/api/webchat/sessions", json={"inbox": "demo-web"})).json()
    ws = await connect(f"{ws_base}/ws/webchat", ping_interval=None, open_timeout=60)
    await ws.send(orjson.dumps({"type": "hello", "token": session["token"]}).decode())
    await ws.recv()  # welcome
    return ws


async def main(kind: str, base: str, count: int) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:

        async def guarded() -> ClientConnection:
            async with gate:
                return await open_one(kind, base, http)

        sockets = await asyncio.gather(*(guarded() for _ in range(count)))
    print(f"ready {len(sockets)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
