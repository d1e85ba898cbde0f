"""Opens N idle sockets to a server and holds them until stdin closes.

``python -m bench.idle_clients switchboard|echo URL N``. Two phases, so the server's memory
can be read between them: first the widget sessions are created over HTTP (prints
``sessions K``), then, after a line on stdin, the sockets are opened and greeted with
``hello`` (prints ``ready K``).
"""

from __future__ import annotations

import asyncio
import sys

import httpx
import orjson
import uvloop
from websockets.asyncio.client import ClientConnection, connect

CONCURRENCY = 200


async def new_token(http: httpx.AsyncClient) -> str:
    response = await http.post("/api/webchat/sessions", json={"inbox": "demo-web"})
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


async def open_one(kind: str, base: str, token: str | None) -> ClientConnection:
    ws_base = base.replace("http://", "ws://")
    if kind == "echo":
        return await connect(ws_base, ping_interval=None, open_timeout=60)
    ws = await connect(f"{ws_base}/ws/webchat", ping_interval=None, open_timeout=60)
    await ws.send(orjson.dumps({"type": "hello", "token": token}).decode())
    await ws.recv()  # welcome
    return ws


async def main(kind: str, base: str, count: int) -> None:
    gate = asyncio.Semaphore(CONCURRENCY)
    loop = asyncio.get_running_loop()
    tokens: list[str | None] = [None] * count
    if kind == "switchboard":
        # A pooled connection is dropped after 2 s idle, before the server's keep-alive (uvicorn:
        # 5 s) closes it: on a loaded machine a reused connection the server had just closed
        # was a ReadError and killed the run.
        limits = httpx.Limits(max_connections=CONCURRENCY, keepalive_expiry=2.0)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:

            async def session() -> str:
                async with gate:
                    return await new_token(http)

            tokens = list(await asyncio.gather(*(session() for _ in range(count))))
    print(f"sessions {count}", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)

    async def guarded(token: str | None) -> ClientConnection:
        async with gate:
            return await open_one(kind, base, token)

    sockets = await asyncio.gather(*(guarded(t) for t in tokens))
    print(f"ready {len(sockets)}", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
