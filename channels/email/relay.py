"""Sending through the configured relay (``SWITCHBOARD_SMTP_RELAY_URL``) with aiosmtplib.

URL forms: ``smtp://host:port`` (STARTTLS when the relay offers it), ``smtp://...?starttls=
required`` (refuse to send in clear), ``smtps://host:465`` (TLS from the first byte); user and
password in the URL's userinfo. Answers are sorted the way SMTP means them: 4xx and lost
connections are worth a retry, 5xx are not.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from channels.base import DeliveryError


@dataclass(frozen=True, slots=True)
class RelayConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    # None: STARTTLS when offered; True: required; False: never.
    starttls: bool | None = None
    verify_certificates: bool = True
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> RelayConfig:
        """Raises ValueError with what is wrong, for the settings check at start."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"relay URL scheme must be smtp or smtps, not {parts.scheme!r}")
        if not parts.hostname:
            raise ValueError("relay URL has no host")
        query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"starttls", "verify", "timeout"}
        if unknown:
            raise ValueError(f"unknown relay URL option(s): {', '.join(sorted(unknown))}")
        starttls = {"required": True, "never": False, "auto": None, None: None}.get(
            query.get("starttls"), "invalid"
        )
        if starttls == "invalid":
            raise ValueError("starttls must be auto, required or never")
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            starttls=None if implicit else starttls,  # type: ignore[arg-type]
            verify_certificates=query.get("verify", "true") not in ("false", "0", "no"),
            timeout=float(query.get("timeout", "30")),
        )


class Relay:
    def __init__(self, config: RelayConfig) -> None:
        self._config = config
        # One context for every mail, made on first use: creating it loads the system's
        # certificates, 1.7 % of a node's CPU under the chaos traffic when it was made per
        # mail. A context may serve any number of connections. Never made when TLS is off.
        self._context: ssl.SSLContext | None = None

    def _tls_context(self) -> ssl.SSLContext | None:
        c = self._config
        if not c.implicit_tls and c.starttls is False:
            return None
        if self._context is None:
            context = ssl.create_default_context()
            if not c.verify_certificates:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._context = context
        return self._context

    async def send(self, message: EmailMessage, sender: str, recipient: str) -> str:
        """Hand the message to the relay; returns its answer. Raises DeliveryError."""
        c = self._config
        context = self._tls_context()
        try:
            refused, answer = await aiosmtplib.send(
                message,
                sender=sender,
                recipients=[recipient],
                hostname=c.host,
                port=c.port,
                username=c.username,
                password=c.password,
                use_tls=c.implicit_tls,
                start_tls=c.starttls,
                tls_context=context,
                timeout=c.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0]
            raise DeliveryError(
                f"{first.code} {first.message}", permanent=first.code >= 500
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(f"{exc.code} {exc.message}", permanent=exc.code >= 500) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Connection refused, timed out or dropped: the relay may be back soon.
            raise DeliveryError(f"relay unreachable: {exc}", permanent=False) from None
        if refused:
            code, text = next(iter(refused.values()))
            raise DeliveryError(f"{code} {text}", permanent=code >= 500)
        return answer
