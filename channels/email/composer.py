"""Outgoing mail, built with the standard library's ``email`` package: a text part and an HTML
part, headers that keep the customer's thread, and RFC 3834's marks on automatic replies."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from channels.base import Attachment
from channels.email.automation import LOOP_MARKER

# Reply prefixes mail clients add in various languages ("Re:", "RE :", "AW:", "Réf :", "SV:").
_PREFIXES = re.compile(
    r"^\s*((re|aw|sv|vs|antw|réf|ref|rif|tr|wg|fwd?)\s*(\[\d+\])?\s*:\s*)+", re.I
)
# How many earlier Message-IDs ``References`` carries: the thread's first and the newest.
REFERENCES_KEPT = 20


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    from_address: str
    from_name: str
    # Where the customer's reply should go: the inbox's plus address with the thread's token.
    reply_to: str
    to_address: str
    to_name: str | None
    subject: str
    text: str
    message_id: str
    # Message-IDs of the thread, oldest first (without angle brackets).
    thread: tuple[str, ...]
    in_reply_to: str | None
    date: datetime
    # A bot's answer or an acknowledgement, not a person's reply (RFC 3834).
    automatic: bool
    # Files the agent attached, in order.
    attachments: tuple[Attachment, ...] = ()


def reply_subject(subject: str | None) -> str:
    """ "Re: " and the customer's subject, whatever prefixes their client piled up."""
    bare = _PREFIXES.sub("", " ".join((subject or "").split()))
    return f"Re: {bare}" if bare else "Re: your message"


def plus_address(address: str, token: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local}+{token}@{domain}"


def compose(mail: OutgoingMail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr((mail.from_name, mail.from_address))
    msg["Reply-To"] = mail.reply_to
    msg["To"] = (
        Address(display_name=mail.to_name or "", addr_spec=mail.to_address)
        if mail.to_name
        else mail.to_address
    )
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(mail.date)
    msg["Message-ID"] = f"<{mail.message_id}>"
    if mail.in_reply_to:
        msg["In-Reply-To"] = f"<{mail.in_reply_to}>"
    references = _references(mail.thread)
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references)
    msg["X-Loop"] = LOOP_MARKER
    if mail.automatic:
        msg["Auto-Submitted"] = "auto-replied"
        # Asks Exchange and Outlook not to answer it with an out-of-office of their own.
        msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(mail.text)
    msg.add_alternative(_html(mail.text), subtype="html")
    for file in mail.attachments:
        # multipart/mixed around the text's alternatives, one part per file.
        maintype, _, subtype = file.content_type.partition("/")
        if not (maintype and subtype) or maintype in ("multipart", "message"):
            maintype, subtype = "application", "octet-stream"
        msg.add_attachment(file.content, maintype=maintype, subtype=subtype, filename=file.filename)
    return msg


def _references(thread: tuple[str, ...]) -> tuple[str, ...]:
    """RFC 5322 asks for the parent's References plus the parent; long threads keep the first
    message and the newest ones, as mail clients do."""
    if len(thread) <= REFERENCES_KEPT:
        return thread
    return (thread[0], *thread[-(REFERENCES_KEPT - 1) :])


def _html(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
    body = "".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in p.splitlines()) + "</p>\n"
        for p in paragraphs
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        f'<body style="font-family: sans-serif; font-size: 14px;">\n{body}</body></html>\n'
    )
