"""Inbound SMTP with aiosmtpd, served by the server's own event loop.

aiosmtpd already answers bogus commands (500), over-long command and data lines (500),
oversized messages (552, also on ``MAIL FROM ... SIZE=``) and repeated commands (421). On top
of it: unknown recipients are refused at RCPT (550), at most ``max_recipients`` per message
(452 after), at most ``max_connections_per_ip`` sessions per client address (421), and the
message is stored before DATA is answered 250, so a 250 is a promise we can keep.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import Counter
from dataclasses import dataclass
from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError
from typing import Any, cast

import structlog
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from channels.base import Busy
from channels.email.port import MailBackend

log = structlog.get_logger(__name__)


# Commands per session: a client may send many messages on one connection, but a session of
# NOOPs, VRFYs or bogus commands is a scanner (aiosmtpd answers 421 past the limit).
CALL_LIMITS = {"MAIL": 10_000, "RCPT": 100_000, "DATA": 10_000, "RSET": 10_000, "*": 100}


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str = "127.0.0.1"
    port: int = 2525
    hostname: str = "switchboard.local"
    max_message_bytes: int = 10 * 1024 * 1024
    max_recipients: int = 100
    max_connections_per_ip: int = 20
    # An idle session is closed after this long (aiosmtpd's timeout).
    idle_seconds: float = 60.0
    tls: ssl.SSLContext | None = None
    require_tls: bool = False
    # (login, password) when AUTH is required; None: no AUTH offered.
    credentials: tuple[str, str] | None = None


class _Handler:
    def __init__(self, backend: MailBackend, config: SmtpConfig) -> None:
        self._backend = backend
        self._config = config

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self._config.max_recipients:
            return f"452 4.5.3 Too many recipients (at most {self._config.max_recipients})"
        try:
            known = await self._backend.accepts(address)
        except Exception:
            log.exception("recipient lookup failed", recipient=address)
            return "451 4.3.0 Temporary failure looking up the recipient; try again later"
        if not known:
            return f"550 5.1.1 <{address}>: no such inbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        try:
            receipt = await self._backend.store_raw(
                peer, envelope.mail_from or "<>", list(envelope.rcpt_tos), raw
            )
        except Busy:
            # Too many mails accepted and not yet processed (server/services/mail_backlog.py).
            return "451 4.3.2 Too much mail waiting to be processed here; try again later"
        except Exception:
            # Not stored: the sender keeps the message and tries again.
            log.exception("storing an inbound mail failed", peer=peer)
            return "451 4.3.0 Temporary failure storing the message; try again later"
        return f"250 2.0.0 OK: queued as {receipt}"


class _Session(SMTP):
    """aiosmtpd's SMTP session with a cap on sessions per client address."""

    def __init__(self, counts: Counter[str], limit: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._counts = counts
        self._limit = limit
        self._ip: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._ip is None and self._original_transport is None:
            peer = transport.get_extra_info("peername")
            ip = str(peer[0]) if isinstance(peer, tuple) else str(peer)
            if self._counts[ip] >= self._limit:
                # Refused before the greeting, as RFC 5321 §3.1 allows with a 421. uvloop's
                # transports write but are not asyncio.WriteTransport subclasses: no isinstance.
                cast(asyncio.WriteTransport, transport).write(
                    b"421 4.7.0 Too many connections from your address\r\n"
                )
                transport.close()
                return
            self._counts[ip] += 1
            self._ip = ip
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._ip is not None:
            self._counts[self._ip] -= 1
            if self._counts[self._ip] <= 0:
                del self._counts[self._ip]
            self._ip = None
            super().connection_lost(error)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd 1.4's address parsing for MAIL and RCPT, the same answers, without the
        ``typing.Protocol`` class it defines inside the method for a type hint: built again
        on every call, that class cost about 3 % of the server's CPU under the mail bench
        (py-spy, issue 14). The usual ``<local@domain>`` (dot-atoms, parameters without
        comments) is read by one regular expression: the header parser it otherwise goes
        through still cost 2.6 % of the server's samples, twice a mail (py-spy, issue 14)."""
        if not arg:
            return "", ""
        plain = _PLAIN_ADDRESS.fullmatch(arg)
        if plain is not None:
            addr, rest = plain.group(1), plain.group(2) or ""
            localpart = addr.rpartition("@")[0]
            if self.local_part_limit and len(localpart) > self.local_part_limit:
                return None, None
            return addr, rest
        try:
            if arg.lstrip().startswith("<"):
                angle, rest = get_angle_addr(arg)
                addr = angle.addr_spec
            else:
                spec, rest = get_addr_spec(arg)
                addr = spec.addr_spec
        except HeaderParseError:
            return None, None
        localpart = addr.rpartition("@")[0]
        if self.local_part_limit and len(localpart) > self.local_part_limit:
            return None, None
        return addr, rest


# ``<local@domain>`` with dot-atoms on both sides, then nothing or parameters after white
# space (no comment): what ``get_angle_addr`` reads as that address, with the parameters as
# the rest (it takes the white space after the ``>``). Anything else goes through it.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(
    rf"[ \t]*<({_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>(?:[ \t]+([^()\\\"]*))?"
)


class SmtpServer:
    """The inbound SMTP listener; ``start`` binds it in the running loop."""

    def __init__(self, backend: MailBackend, config: SmtpConfig) -> None:
        self._handler = _Handler(backend, config)
        self._config = config
        self._counts: Counter[str] = Counter()
        self._server: asyncio.base_events.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._session, self._config.host, self._config.port)
        log.info("smtp listening", host=self._config.host, port=self.port)

    def _session(self) -> SMTP:
        c = self._config
        auth: dict[str, Any] = {}
        if c.credentials is not None:
            auth = {
                "auth_required": True,
                "auth_require_tls": c.tls is not None,
                "authenticator": _Authenticator(c.credentials),
            }
        return _Session(
            self._counts,
            c.max_connections_per_ip,
            self._handler,
            data_size_limit=c.max_message_bytes,
            enable_SMTPUTF8=True,
            hostname=c.hostname,
            ident="Switchboard ESMTP",
            tls_context=c.tls,
            require_starttls=c.require_tls and c.tls is not None,
            timeout=c.idle_seconds,
            command_call_limit=CALL_LIMITS,
            loop=asyncio.get_running_loop(),
            **auth,
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class _Authenticator:
    def __init__(self, credentials: tuple[str, str]) -> None:
        self._login = credentials[0].encode()
        self._password = credentials[1].encode()

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == self._login
            and data.password == self._password
        )
        return AuthResult(success=ok, handled=False)
