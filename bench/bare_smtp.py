"""The mail baseline: a bare aiosmtpd server in a process of its own, whose handler answers
250 at once and keeps nothing, so the ratio shows what storing before the 250 costs.

Run as ``python -m bench.bare_smtp``; prints ``port N`` once listening. With ``--lean`` its
sessions read MAIL's and RCPT's addresses as Switchboard's do (channels/email/smtp.py,
``_Session._getaddr``): aiosmtpd 1.4's own defines a ``typing.Protocol`` class on every call,
about 90 us, twice a mail, most of the bare server's CPU a mail (issue 14); without it, the
baseline is aiosmtpd as it comes.
"""

from __future__ import annotations

import asyncio
import sys

import uvloop
from aiosmtpd.smtp import SMTP, Envelope, Session

from channels.email.smtp import _Session


class _Bare:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 OK"


class _Lean(SMTP):
    """aiosmtpd's session with Switchboard's address parsing, nothing else of Switchboard's."""

    _getaddr = _Session._getaddr


async def serve(lean: bool) -> None:
    loop = asyncio.get_running_loop()
    session = _Lean if lean else SMTP
    server = await loop.create_server(lambda: session(_Bare(), loop=loop), "127.0.0.1", 0)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    # The server's own loop (uvloop), so the baseline is not slower for want of it.
    uvloop.run(serve("--lean" in sys.argv[1:]))


if __name__ == "__main__":
    main()
