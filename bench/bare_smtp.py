"""The mail baseline: a bare aiosmtpd server in a process of its own, whose handler answers
250 at once and keeps nothing, so the ratio shows what storing before the 250 costs.

Run as ``python -m bench.bare_smtp``; prints ``port N`` once listening.
"""

from __future__ import annotations

import asyncio

import uvloop
from aiosmtpd.smtp import SMTP, Envelope, Session


class _Bare:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


async def serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(_Bare(), loop=loop), "127.0.0.1", 0)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    # The server's own loop (uvloop), so the baseline is not slower for want of it.
    uvloop.run(serve())


if __name__ == "__main__":
    main()
