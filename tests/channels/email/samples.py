"""Delivery reports and auto-replies in the shapes real mail servers send them."""

from __future__ import annotations

from email.message import EmailMessage

OUR = "support@demo.switchboard.test"


def _original(message_id: str) -> EmailMessage:
    original = EmailMessage()
    original["From"] = OUR
    original["To"] = "gone@example.com"
    original["Subject"] = "Re: Where is my parcel?"
    original["Message-ID"] = f"<{message_id}>"
    original.set_content("Your parcel is on its way.")
    return original


def rfc3464(
    message_id: str,
    *,
    action: str = "failed",
    status: str = "5.1.1",
    headers_only: bool = True,
    recipient: str = "gone@example.com",
) -> bytes:
    """Postfix's shape (text/rfc822-headers) or Gmail's (the whole message/rfc822)."""
    original = _original(message_id).as_string().replace("\n", "\r\n")
    if headers_only:
        original = original.split("\r\n\r\n", 1)[0] + "\r\n"
    returned = "text/rfc822-headers" if headers_only else "message/rfc822"
    return (
        "From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\r\n"
        f"To: {OUR}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn-{action}-{message_id}>\r\nAuto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"\r\n'
        "\r\n--BOUNDARY\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is the mail system at host mx.example.com.\r\n\r\nI'm sorry to have to inform you"
        " that your message could not be delivered.\r\n"
        "\r\n--BOUNDARY\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected\r\n"
        f"\r\n--BOUNDARY\r\nContent-Type: {returned}\r\n\r\n{original}"
        "\r\n--BOUNDARY--\r\n"
    ).encode()


def exim_bounce(message_id: str) -> bytes:
    return (
        "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\r\n"
        f"To: {OUR}\r\nSubject: Mail delivery failed: returning message to sender\r\n"
        "X-Failed-Recipients: gone@example.org\r\nAuto-Submitted: auto-replied\r\n"
        f"Message-ID: <exim-{message_id}>\r\n\r\n"
        "This message was created automatically by mail delivery software.\r\n\r\n"
        "A message that you sent could not be delivered to one or more of its\r\n"
        "recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
        "  gone@example.org\r\n"
        "    SMTP error from remote mail server after RCPT TO:<gone@example.org>:\r\n"
        "    550 5.1.1 User unknown\r\n\r\n"
        "------ This is a copy of the message, including all the headers. ------\r\n\r\n"
        f"From: {OUR}\r\nMessage-ID: <{message_id}>\r\nSubject: Re: hello\r\n\r\nYour parcel.\r\n"
    ).encode()


def qmail_bounce(message_id: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mail.example.net\r\n"
        f"To: {OUR}\r\nSubject: failure notice\r\nMessage-ID: <qmail-{message_id}>\r\n\r\n"
        "Hi. This is the qmail-send program at mail.example.net.\r\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
        "<gone@example.net>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n"
        "--- Below this line is a copy of the message.\r\n\r\n"
        f"Message-ID: <{message_id}>\r\nFrom: {OUR}\r\nSubject: Re: x\r\n\r\nbody\r\n"
    ).encode()


def read_receipt(message_id: str) -> bytes:
    return (
        "From: ada@example.com\r\n"
        f"To: {OUR}\r\nSubject: Read: Re: Where is my parcel?\r\nMessage-ID: <mdn-{message_id}>\r\n"
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\nYour message was read.\r\n"
        "--B\r\nContent-Type: message/disposition-notification\r\n\r\n"
        "Final-Recipient: rfc822; ada@example.com\r\n"
        f"Original-Message-ID: <{message_id}>\r\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{message_id}>\r\nFrom: {OUR}\r\n"
        "--B--\r\n"
    ).encode()


AUTO_REPLIES: dict[str, dict[str, str]] = {
    "exchange out of office": {
        "Subject": "Automatic reply: Where is my parcel?",
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
    },
    "gmail vacation": {"Subject": "Re: Where is my parcel?", "Auto-Submitted": "auto-replied"},
    "old vacation program": {"Subject": "away", "Precedence": "bulk"},
    "mailing list": {
        "Subject": "[news] weekly",
        "List-Id": "<news.example.com>",
        "Precedence": "list",
    },
    "our own mail looping back": {"Subject": "Re: Where is my parcel?", "X-Loop": "switchboard"},
    "junk": {"Subject": "cheap", "Precedence": "junk"},
    "x-autoreply": {"Subject": "I'm away", "X-Autoreply": "yes"},
}
