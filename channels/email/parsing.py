"""Raw mail to a ``ParsedMail`` value: pure, and safe on hostile input.

``parse`` runs in a worker process (``channels.email.workers``) under a time budget, so a
message built to make the parser slow costs a worker, never the server. Inside, every limit
is checked before the work it bounds: header size before parsing, MIME depth and part count
while walking, text length when storing. What is malformed degrades to best-effort text (an
unknown charset is read as UTF-8 with replacements, an undecodable header is shown raw); what
cannot be made sense of raises ``Unparseable`` with the reason the receipt is quarantined for.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from email.message import Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parseaddr
from typing import Any

from channels.base import Attachment, safe_filename
from channels.email import automation, reports
from channels.email.automation import automated_reason
from channels.email.text import html_to_text, latest_reply


class Unparseable(Exception):
    """The message cannot be stored as a conversation message; the reason is shown to admins."""


@dataclass(frozen=True, slots=True)
class Limits:
    header_bytes: int = 64 * 1024
    mime_depth: int = 10
    parts: int = 200
    attachments: int = 25
    text_chars: int = 100_000
    # Message-IDs kept from References (the newest): enough to thread, bounded for lookups.
    references: int = 30


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str
    # True when the mail had no usable Message-ID and ``message_id`` was derived from its bytes
    # (a redelivery of the same bytes still stores once).
    message_id_derived: bool
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_address: str
    from_name: str | None
    recipients: tuple[str, ...]
    # What the console shows: the new text, without quoted history and signature.
    text: str
    # The whole body as text (HTML turned into text), for "show original".
    full_text: str
    html: bool
    attachments: tuple[Attachment, ...]
    automated: str | None
    report: reports.DeliveryReport | None
    # Things that were wrong but survivable ("unknown charset x-foo", "text truncated").
    defects: tuple[str, ...] = field(default=())


# The headers ``_parse`` keeps by name: threading's, and what tells a machine's mail.
_READ_HEADERS = automation.HEADERS | {"in-reply-to", "references"}

_ID = re.compile(r"<([^<>\s]{1,250})>")


# Header values parsed already, by (name, value), shared by the mails a worker parses: a
# customer's From, our inbox's To, "text/plain; charset=utf-8", "7bit" and "1.0" come again
# and again, and each costs a parse through the header registry (the slow part of reading a
# mail: half a plain mail's parse, issue 14). Bounded: longer values (a hostile address list
# parses into a large tree) are not kept, and the memo is emptied when full.
MEMO_ENTRIES = 2048
MEMO_VALUE_CHARS = 300
_parsed: dict[tuple[str, str], Any] = {}


class _ParsedOnce(EmailPolicy):
    """``email.policy.default`` that parses each header value once (``_parsed``).

    The default policy parses a header on every access, and reading a mail asks for
    Content-Type a dozen times (type, main type, charset, disposition, decoding...) and From
    twice: 24 header parses for a plain four-header mail, 2.2 ms of a worker's CPU (measured,
    bench/mail.py's mail). The parsed headers are immutable values of their name and text,
    so the same object is handed back each time, to any mail."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if not isinstance(value, str) or hasattr(value, "name"):
            return super().header_fetch_parse(name, value)
        key = (name, value)
        found = _parsed.get(key)
        if found is None:
            found = super().header_fetch_parse(name, value)
            if len(value) <= MEMO_VALUE_CHARS:
                if len(_parsed) >= MEMO_ENTRIES:
                    _parsed.clear()
                _parsed[key] = found
        return found


_POLICY = _ParsedOnce()


def parse(raw: bytes, mail_from: str, limits: Limits = Limits()) -> ParsedMail:
    """The parsed mail; raises Unparseable (and nothing else) with the reason it is refused."""
    try:
        return _parse(raw, mail_from, limits)
    except RecursionError:
        # The email package reads nested comments in address headers recursively: a few
        # thousand "(" in a From or To header exhaust the stack before any limit of ours.
        raise Unparseable("message structure too deeply nested for the parser") from None


def _parse(raw: bytes, mail_from: str, limits: Limits) -> ParsedMail:
    header_end = _header_end(raw)
    if header_end is None and len(raw) > limits.header_bytes:
        raise Unparseable(f"no end of headers within {limits.header_bytes} bytes")
    if header_end is not None and header_end > limits.header_bytes:
        raise Unparseable(f"headers larger than {limits.header_bytes} bytes")
    try:
        msg = BytesParser(policy=_POLICY).parsebytes(raw)
    except Exception as exc:  # the parser itself is lenient; this is the last resort
        raise Unparseable(f"cannot parse the message: {exc.__class__.__name__}") from None
    defects: list[str] = []
    parts = _walk(msg, limits)
    report = _clean_report(
        reports.delivery_report(msg, parts, mail_from, _header(msg, "Subject", defects))
    )
    from_name, from_address = _sender(msg, mail_from, defects)
    if not from_address and report is None:
        raise Unparseable("no sender address (no From header and a null envelope sender)")
    raw_id = _message_ids(_printable(_header(msg, "Message-ID", defects)), 1)
    message_id = raw_id[0] if raw_id else _derived_id(raw)
    text_part, html_part, files = _bodies(parts, limits, defects)
    html = False
    if text_part is not None:
        full_text = _content(text_part, defects)
    elif html_part is not None:
        full_text = html_to_text(_content(html_part, defects))
        html = True
    else:
        full_text = ""
    if len(full_text) > limits.text_chars:
        full_text = full_text[: limits.text_chars]
        defects.append(f"text truncated to {limits.text_chars} characters")
    text = latest_reply(full_text) or full_text.strip()
    if not text and files:
        text = "(attachments only)"
    # Only the headers read below are decoded: each costs a parse through the header
    # registry, and a real mail carries dozens (Received, DKIM-Signature, ARC-*) for none.
    headers = {
        k.lower(): _printable(_header(msg, k, defects))
        for k in set(msg.keys())
        if k.lower() in _READ_HEADERS
    }
    return ParsedMail(
        message_id=message_id,
        message_id_derived=not raw_id,
        in_reply_to=_message_ids(headers.get("in-reply-to", ""), limits.references),
        references=_message_ids(headers.get("references", ""), limits.references, newest=True),
        subject=_one_line(headers.get("subject", ""))[:500],
        from_address=_printable(from_address),
        from_name=_printable(from_name) if from_name else None,
        recipients=tuple(_printable(r) for r in _recipients(msg, defects)),
        text=text,
        full_text=full_text,
        html=html,
        attachments=tuple(files),
        automated=automated_reason(headers, mail_from, from_address) if report is None else None,
        report=report,
        defects=tuple(defects),
    )


def _header_end(raw: bytes) -> int | None:
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return min(ends) if ends else None


def _walk(msg: Message, limits: Limits) -> list[Message]:
    """Every part, depth first, refusing what is nested too deep or split too finely."""
    found: list[Message] = []

    def visit(part: Message, depth: int) -> None:
        if depth > limits.mime_depth:
            raise Unparseable(f"MIME nesting deeper than {limits.mime_depth}")
        found.append(part)
        if len(found) > limits.parts:
            raise Unparseable(f"more than {limits.parts} MIME parts")
        if part.is_multipart():
            payload = part.get_payload()
            for child in payload if isinstance(payload, list) else ():
                if isinstance(child, Message):
                    visit(child, depth + 1)

    visit(msg, 0)
    return found


def _bodies(
    parts: list[Message], limits: Limits, defects: list[str]
) -> tuple[Message | None, Message | None, list[Attachment]]:
    """The first inline text and HTML bodies, and every file."""
    text: Message | None = None
    html: Message | None = None
    files: list[Attachment] = []
    for part in parts:
        if part.is_multipart() or part.get_content_maintype() == "message":
            continue
        disposition = (part.get_content_disposition() or "").lower()
        content_type = part.get_content_type()
        filename = _filename_of(part, defects)
        if disposition != "attachment" and filename is None:
            if content_type == "text/plain" and text is None:
                text = part
                continue
            if content_type == "text/html" and html is None:
                html = part
                continue
            if part.get_content_maintype() == "text":
                continue  # alternatives we do not show (text/enriched, a second body)
        if len(files) >= limits.attachments:
            raise Unparseable(f"more than {limits.attachments} attachments")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        files.append(
            Attachment(
                filename=safe_filename(filename, content_type, len(files) + 1),
                content_type=_safe_content_type(content_type),
                content=content,
            )
        )
    return text, html, files


def _content(part: Message, defects: list[str]) -> str:
    """A text part's content; an unknown or lying charset degrades to UTF-8 with replacements."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = data.decode(charset, errors="replace")
    except (LookupError, ValueError):
        defects.append(f"unknown charset {charset[:40]!r}")
        text = data.decode("utf-8", errors="replace")
    text = _SURROGATE.sub("\ufffd", text)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def _header(msg: Message, name: str, defects: list[str]) -> str:
    """A header's decoded value; one the library cannot decode is shown as it came."""
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception:
        defects.append(f"undecodable {name} header")
        raw = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), "")
        return str(raw)


def _sender(msg: Message, mail_from: str, defects: list[str]) -> tuple[str | None, str]:
    name, address = parseaddr(_header(msg, "From", defects))
    if "@" not in address:
        name, address = "", mail_from if "@" in mail_from else ""
    return _one_line(name)[:200] or None, address.strip().lower()[:320]


def _recipients(msg: Message, defects: list[str]) -> tuple[str, ...]:
    values = [_header(msg, name, defects) for name in ("To", "Cc")]
    found = [a.strip().lower() for _, a in getaddresses(values) if "@" in a]
    return tuple(dict.fromkeys(found))[:100]


def _message_ids(value: str, limit: int, *, newest: bool = False) -> tuple[str, ...]:
    found = list(dict.fromkeys(_ID.findall(value)))
    kept = found[-limit:] if newest else found[:limit]
    return tuple(reversed(kept)) if newest else tuple(kept)


def _derived_id(raw: bytes) -> str:
    return f"sha256-{hashlib.sha256(raw).hexdigest()}@switchboard.invalid"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Lone surrogates: what "utf-7" (a charset mail does use) and Python's escape codecs decode
# "+2AA-" or "\\ud800" to. They are no UTF-8, so Postgres would refuse the text on every retry.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _printable(value: str) -> str:
    """Header text without control characters or lone surrogates (Postgres refuses NUL and
    invalid UTF-8 in text; the rest is never meant to be shown)."""
    return _CONTROL.sub("", value)


def _clean_report(report: reports.DeliveryReport | None) -> reports.DeliveryReport | None:
    """A report whose texts can be stored: what it quotes from a bounce's body or status
    fields may hold NUL or lone surrogates."""
    if report is None:
        return None
    return replace(
        report,
        original_message_id=_optional_printable(report.original_message_id),
        recipient=_optional_printable(report.recipient),
        status=_optional_printable(report.status),
        diagnostic=_optional_printable(report.diagnostic),
    )


def _optional_printable(value: str | None) -> str | None:
    return (_printable(value) or None) if value is not None else None


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _filename_of(part: Message, defects: list[str]) -> str | None:
    try:
        return part.get_filename()
    except Exception:
        defects.append("undecodable attachment name")
        return "attachment"


_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


def _safe_content_type(value: str) -> str:
    return value if _TYPE.match(value) else "application/octet-stream"


def as_json(mail: ParsedMail) -> dict[str, Any]:
    """What is kept with the stored message (its meta), beside the text."""
    meta: dict[str, Any] = {
        "message_id": mail.message_id,
        "subject": mail.subject,
        "from": mail.from_address,
        "to": list(mail.recipients),
        "html": mail.html,
    }
    if mail.full_text.strip() != mail.text:
        meta["full_text"] = mail.full_text
    if mail.defects:
        meta["defects"] = list(mail.defects)
    return meta
