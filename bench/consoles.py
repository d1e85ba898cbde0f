"""A load generator for bench/first_paint.py, in a process of its own: signs agents in and holds
their console sockets open (reading every frame, as a console does) until it is stopped
(bench.processes stops it with SIGTERM).

    python -m bench.consoles BASE_URL PASSWORD EMAIL...

Prints "ready N" once N consoles have had their welcome.
"""

from __future__ import annotations

import asyncio
import sys

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect


async def console(base: str, email: str, password: str) -> ClientConnection:
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        response = await http.post(
            "/console/api/login", json={"email": email, "password": password}
        )
        response.raise_for_status()
        last = (await http.get("/console/api/conversations")).json()["last_event_id"]
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    url = base.replace("http://", "ws://") + "/console/ws"
    ws = await connect(url, additional_headers={"cookie": cookie}, max_size=None)
    await ws.send(orjson.dumps({"type": "hello", "last_event_id": last}).decode())
    while orjson.loads(await ws.recv())["type"] != "welcome":
        pass
    return ws


async def drain(ws: ClientConnection) -> None:
    async for _ in ws:
        pass


async def main(base: str, password: str, emails: list[str]) -> None:
    # A few sign-ins at a time: each costs the server a password hash.
    gate = asyncio.Semaphore(4)

    async def one(email: str) -> ClientConnection:
        async with gate:
            return await console(base, email, password)

    sockets = await asyncio.gather(*(one(e) for e in emails))
    readers = [asyncio.create_task(drain(ws)) for ws in sockets]
    print(f"ready {len(sockets)}", flush=True)
    await asyncio.gather(*readers, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
