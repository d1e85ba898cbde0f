"""Real SMTP on the far side of the tests: a relay (aiosmtpd) that receives our replies, and
the customer's client (smtplib, run in a thread as a mail client would)."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests import harness


@dataclass
class Relay:
    """Receives what Switchboard sends; ``answer`` decides each delivery's SMTP reply."""

    port: int = 0
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    answer: Callable[[EmailMessage], str] = lambda _: "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        msg = BytesParser(policy=policy.default).parsebytes(envelope.original_content or b"")
        assert isinstance(msg, EmailMessage)
        reply = self.answer(msg)
        if reply.startswith("250"):
            self.received.append(msg)
            self.envelopes.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
        return reply

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=never"

    async def wait_for(self, count: int, within: float = 15.0) -> list[EmailMessage]:
        async def enough() -> bool:
            return len(self.received) >= count

        await harness.until(enough, within)
        return self.received


@contextlib.asynccontextmanager
async def relay() -> AsyncIterator[Relay]:
    stub = Relay()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(stub, hostname="relay.test", loop=loop), "127.0.0.1", 0
    )
    stub.port = server.sockets[0].getsockname()[1]
    try:
        yield stub
    finally:
        server.close()
        await server.wait_closed()


def mail(
    sender: str = "ada@example.com",
    to: str = "support@demo.switchboard.test",
    subject: str = "Where is my parcel?",
    body: str = "Hello, my parcel has not arrived yet. Can you help?",
    message_id: str | None = None,
    **headers: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = f"<{message_id}>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def send_sync(port: int, message: EmailMessage | bytes, sender: str, rcpts: list[str]) -> Any:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        return client.sendmail(
            sender, rcpts, message.as_bytes() if isinstance(message, EmailMessage) else message
        )


async def send(
    port: int,
    message: EmailMessage | bytes,
    sender: str = "ada@example.com",
    rcpts: list[str] | None = None,
) -> Any:
    """Send as a customer's client would; returns smtplib's refused-recipients dict."""
    return await asyncio.to_thread(
        send_sync, port, message, sender, rcpts or ["support@demo.switchboard.test"]
    )


async def send_raw(
    port: int,
    raw: bytes,
    sender: str = "odd@example.com",
    rcpt: str = "support@demo.switchboard.test",
) -> str:
    """One SMTP transaction with exactly these bytes (dot-stuffed, nothing else changed: bare
    LFs stay bare, unlike smtplib); returns the server's answer to the end of DATA."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def answer() -> str:
        lines = []
        while True:
            line = (await reader.readline()).decode(errors="replace")
            lines.append(line.strip())
            if len(line) < 4 or line[3] != "-":
                return "\n".join(lines)

    try:
        await answer()
        for command in (
            b"EHLO corpus.example.com",
            f"MAIL FROM:<{sender.strip('<>')}>".encode(),
            f"RCPT TO:<{rcpt}>".encode(),
            b"DATA",
        ):
            writer.write(command + b"\r\n")
            reply = await answer()
            if reply[:1] not in ("2", "3"):
                return reply
        body = raw if raw.endswith(b"\r\n") else raw + b"\r\n"
        body = (b"." + body if body.startswith(b".") else body).replace(b"\r\n.", b"\r\n..")
        writer.write(body + b".\r\n")
        result = await answer()
        writer.write(b"QUIT\r\n")
        return result
    finally:
        writer.close()
