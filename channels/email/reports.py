"""Delivery status notifications: RFC 3464 reports and the older free-text bounces.

A report is never a customer's message. It names the message it reports on (by the
Message-ID of the original, found in the attached message or headers, or quoted in the text)
and what happened to it: failed, delayed, delivered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from typing import Literal

Action = Literal["failed", "delayed", "delivered"]


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    action: Action
    # The original message's Message-ID (without angle brackets), when the report names it.
    original_message_id: str | None
    recipient: str | None
    status: str | None
    diagnostic: str | None
    # "rfc3464", "disposition" (a read receipt) or "bounce" (free text, no report part).
    kind: str

    def summary(self) -> str:
        parts: list[str] = [self.action]
        if self.status:
            parts.append(self.status)
        if self.recipient:
            parts.append(f"for {self.recipient}")
        if self.diagnostic:
            parts.append(f"({self.diagnostic})")
        return " ".join(parts)


_MESSAGE_ID = re.compile(r"^\s*Message-ID:\s*<([^<>\s]{1,250})>", re.IGNORECASE | re.MULTILINE)
_BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery status notification|delivery failure|mail delivery failed|"
    r"failure notice|returned mail|delivery has failed|non remis|unzustellbar|"
    r"warning: message .* delayed|delivery delayed)",
    re.IGNORECASE,
)
_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


def delivery_report(
    msg: Message, parts: list[Message], mail_from: str, subject: str
) -> DeliveryReport | None:
    """The report this mail is, or None for an ordinary mail."""
    content_type = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "") or "").lower()
    if content_type == "multipart/report" and report_type == "disposition-notification":
        return DeliveryReport(
            "delivered", _original_id(parts), None, None, "read receipt", "disposition"
        )
    status_part = next(
        (p for p in parts if p.get_content_type() == "message/delivery-status"), None
    )
    if status_part is not None:
        return _rfc3464(status_part, parts)
    sender = _field(msg, "From") or ""
    null_sender = mail_from.strip() in ("", "<>")
    from_daemon = bool(_BOUNCE_SENDER.search(_address(sender)))
    if (null_sender or from_daemon) and _BOUNCE_SUBJECT.search(subject):
        return _free_text(msg, parts, subject)
    if _field(msg, "X-Failed-Recipients") is not None:
        return _free_text(msg, parts, subject)
    return None


def _rfc3464(status_part: Message, parts: list[Message]) -> DeliveryReport:
    blocks = _status_blocks(status_part)
    # The first recipient block that failed, else the first one: a report on several
    # recipients is summarised by its worst news.
    recipients = blocks[1:] or [{}]
    chosen = next((b for b in recipients if b.get("action") == "failed"), recipients[0])
    action = chosen.get("action", "failed")
    return DeliveryReport(
        action=_action(action),
        original_message_id=_original_id(parts),
        recipient=_after_semicolon(
            chosen.get("final-recipient") or chosen.get("original-recipient")
        ),
        status=(chosen.get("status") or "").strip()[:20] or None,
        diagnostic=_after_semicolon(chosen.get("diagnostic-code")),
        kind="rfc3464",
    )


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """The per-message block and the per-recipient blocks, as lower-case-keyed fields."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [
            {k.lower(): v for k, v in _fields(block)}
            for block in payload
            if isinstance(block, Message)
        ]
    # Some senders put the status fields in as plain text.
    blocks: list[dict[str, str]] = []
    for chunk in re.split(r"\n\s*\n", str(payload)):
        fields = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (line.partition(":") for line in chunk.splitlines())
            if v
        )
        if fields:
            blocks.append(fields)
    return blocks


def _free_text(msg: Message, parts: list[Message], subject: str) -> DeliveryReport:
    body = "\n".join(_text_of(p) for p in parts if p.get_content_maintype() == "text")[:20000]
    delayed = re.search(r"delay|will (continue|keep) trying|retry", subject + body, re.I)
    status = _STATUS.search(body)
    failed_to = _field(msg, "X-Failed-Recipients")
    recipient = failed_to.strip() if failed_to else _first_address(body)
    return DeliveryReport(
        action="delayed"
        if delayed and not re.search(r"failed|undeliverable", subject, re.I)
        else "failed",
        original_message_id=_original_id(parts) or _quoted_id(body),
        recipient=recipient,
        status=status.group(1) if status else None,
        diagnostic=_first_meaningful_line(body),
        kind="bounce",
    )


def _original_id(parts: list[Message]) -> str | None:
    """The Message-ID of the attached original (message/rfc822 or text/rfc822-headers)."""
    for part in parts:
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/global"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                found = re.search(r"<([^<>\s]{1,250})>", _field(inner, "Message-ID") or "")
                if found:
                    return found.group(1)
        if content_type in ("text/rfc822-headers", "message/rfc822-headers"):
            found_id = _quoted_id(_text_of(part))
            if found_id:
                return found_id
    return None


def _quoted_id(text: str) -> str | None:
    found = _MESSAGE_ID.search(text)
    return found.group(1) if found else None


def _field(msg: Message, name: str) -> str | None:
    """A header's value (None when there is none). One the email package fails to decode (an
    encoded word in utf-7 that decodes to a lone surrogate raises UnicodeEncodeError) is read
    as it came."""
    try:
        value = msg.get(name)
    except Exception:
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), None)
    return None if value is None else str(value)


def _fields(msg: Message) -> list[tuple[str, str]]:
    """Every header's name and value, read as they came when one cannot be decoded."""
    try:
        return [(k, str(v)) for k, v in msg.items()]
    except Exception:
        return [(k, str(v)) for k, v in msg.raw_items()]


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        try:
            return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
        except (LookupError, ValueError):  # an unknown charset: read as UTF-8, as bodies are
            return payload.decode("utf-8", errors="replace")
    return str(part.get_payload())


def _action(value: str) -> Action:
    value = value.strip().lower()
    if value in ("delivered", "relayed", "expanded"):
        return "delivered"
    if value == "delayed":
        return "delayed"
    return "failed"


def _after_semicolon(value: str | None) -> str | None:
    if not value:
        return None
    return " ".join(value.split(";", 1)[-1].split())[:300] or None


def _address(value: str) -> str:
    found = re.search(r"[\w.+-]+@[\w.-]+", value)
    return found.group(0) if found else ""


def _first_address(body: str) -> str | None:
    found = re.search(r"<?([\w.+-]+@[\w-]+(?:\.[\w-]+)+)>?:?\s*$", body, re.MULTILINE)
    return found.group(1) if found else None


def _first_meaningful_line(body: str) -> str | None:
    for line in body.splitlines():
        line = line.strip()
        if re.search(
            r"\b[45]\d\d\b|does not exist|unknown|rejected|refused|full|quota", line, re.I
        ):
            return line[:300]
    return None
