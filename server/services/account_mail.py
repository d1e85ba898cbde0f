"""Mail about an agent's account (an invite, a password reset), sent through the relay the
replies use (``SWITCHBOARD_SMTP_RELAY_URL``, ``channels.email.relay``).

A mail goes out in the background, so a request never waits on the relay, and a reset asked
for an unknown email answers as fast as one for a known email. A temporary failure is tried
again a few times; these mails are not in the outbox (they belong to no conversation), so one
still unsent when the node stops is lost, and the person asks again. Without a relay nothing
is sent and ``send`` says so (the admin API and the CLI then hand the link over themselves).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import structlog

from channels.base import DeliveryError
from channels.email.relay import Relay

log = structlog.get_logger(__name__)

# Waits between attempts; a link outlives them all (a reset lives an hour).
RETRY_SECONDS = (5.0, 30.0, 120.0)
# Mails waiting at once; past it a new one is dropped (logged): a flood of reset requests
# must not grow the process.
MAX_PENDING = 200


class AccountMailer:
    """Sends account mail from ``sender`` through ``relay`` (None: mail is off)."""

    def __init__(
        self,
        relay: Relay | None,
        sender: str,
        *,
        retry_seconds: tuple[float, ...] = RETRY_SECONDS,
    ) -> None:
        self._relay = relay
        self._sender = sender
        self._retry = retry_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self._relay is not None

    def send(self, to: str, subject: str, text: str) -> bool:
        """Queue a mail; False when there is no relay or too many are waiting."""
        if self._relay is None:
            return False
        if len(self._tasks) >= MAX_PENDING:
            log.warning("account mail dropped: too many waiting", pending=len(self._tasks))
            return False
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(datetime.now(UTC))
        domain = self._sender.rpartition("@")[2].strip("> ") or "switchboard.local"
        message["Message-ID"] = make_msgid(domain=domain)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        task = asyncio.get_running_loop().create_task(self._deliver(message, to))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _deliver(self, message: EmailMessage, to: str) -> None:
        assert self._relay is not None
        address = self._sender.rpartition("<")[2].rstrip(">").strip()
        for wait in (*self._retry, None):
            try:
                await self._relay.send(message, address, to)
                log.info("account mail sent", subject=message["Subject"])
                return
            except DeliveryError as exc:
                if exc.permanent or wait is None:
                    log.warning("account mail failed", subject=message["Subject"], error=str(exc))
                    return
                await asyncio.sleep(wait)

    async def settled(self) -> None:
        """Wait for the mails under way (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
