"""Hypothesis on the MIME parser's entry point, ``channels.email.parsing.parse``: what each
mail-parser worker runs on a receipt's raw bytes. Whatever arrives (any bytes, or a message
built to be hostile: odd headers and encoded words, nested multiparts, lying charsets, long
lines, broken base64 and quoted-printable, delivery reports), it answers with a mail that can
be stored, or refuses it with ``Unparseable`` (the receipt is then quarantined with the
reason); never with another exception, and never slowly.

"Can be stored": every text is valid UTF-8 without NUL (Postgres refuses both, and the receipt
would fail on every retry), within the parser's limits, and the meta is JSON; the value
survives the pickle that carries it back from the worker.
"""

from __future__ import annotations

import base64
import dataclasses
import pickle
import quopri
import re
from datetime import timedelta

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.email.parsing import Limits, ParsedMail, Unparseable, as_json, parse

LIMITS = Limits()
# Each example is at most some tens of kB; one that takes seconds would be a hang in the making
# (a worker gets mail_parse_seconds, 5 s by default, before it is killed). The deadline is far
# above the few milliseconds a parse takes, so a busy machine does not make it flicker.
FUZZ = settings(
    max_examples=300,
    deadline=timedelta(seconds=2),
    derandomize=True,  # make test must not flicker: the same examples on every run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")


def _stored_or_refused(raw: bytes, mail_from: str = "sender@example.com") -> None:
    try:
        mail = parse(raw, mail_from, LIMITS)
    except Unparseable as refused:
        reason = str(refused)
    else:
        _storable(mail)
        return
    assert reason, "a refusal says why (admins see it on the quarantined receipt)"


def _storable(mail: ParsedMail) -> None:
    for where, text in _texts(mail, "mail"):
        assert "\x00" not in text, f"NUL in {where}: {text[:80]!r}"
        assert text.encode("utf-8", "replace").decode() == text, f"not UTF-8: {where}"
    assert mail.message_id
    assert len(mail.full_text) <= LIMITS.text_chars
    assert len(mail.text) <= LIMITS.text_chars
    assert len(mail.attachments) <= LIMITS.attachments
    assert len(mail.references) <= LIMITS.references
    assert len(mail.in_reply_to) <= LIMITS.references
    assert len(mail.subject) <= 500
    assert "\n" not in mail.subject
    assert "@" in mail.from_address or mail.report is not None
    for file in mail.attachments:
        assert file.filename
        assert "/" not in file.filename
        assert "\\" not in file.filename
        assert not file.filename.startswith(".")
        assert file.content_type == "application/octet-stream" or _CONTENT_TYPE.match(
            file.content_type
        )
    orjson.dumps(as_json(mail))
    assert pickle.loads(pickle.dumps(mail, protocol=pickle.HIGHEST_PROTOCOL)) == mail


def _texts(value: object, where: str) -> list[tuple[str, str]]:
    """Every string in the parsed mail, its report and attachments included, with where."""
    if isinstance(value, str):
        return [(where, value)]
    if isinstance(value, tuple | list):
        return [t for n, item in enumerate(value) for t in _texts(item, f"{where}[{n}]")]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return [t for f in fields for t in _texts(getattr(value, f.name), f"{where}.{f.name}")]
    return []


# Anything at all.


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes_are_parsed_or_refused(raw: bytes) -> None:
    _stored_or_refused(raw)


@FUZZ
@given(st.binary(max_size=2048), st.sampled_from(["", "<>", "a@b.c", "mailer-daemon@x.org"]))
def test_any_body_after_plain_headers_is_parsed_or_refused(body: bytes, mail_from: str) -> None:
    _stored_or_refused(b"From: ada@example.com\r\nSubject: hi\r\n\r\n" + body, mail_from)


# Structured but hostile: messages built part by part, as a sender's library would not.

_NEWLINE = st.sampled_from([b"\r\n", b"\n", b"\r"])
_CHARSETS = st.sampled_from(
    [
        "utf-8",
        "us-ascii",
        "iso-8859-1",
        "windows-1252",
        "koi8-r",
        "shift_jis",
        "iso-2022-jp",
        "gb2312",
        "big5",
        "utf-16",
        "utf-32",
        "utf-7",  # a real mail charset that decodes to lone surrogates
        "unicode_escape",  # Python codecs that are no mail charset, but look up
        "raw_unicode_escape",
        "rot13",
        "zlib",
        "base64",
        "punycode",
        "idna",
        "x-unknown",
        "",
        "utf-8'en'",
        '"utf-8"',
        "utf\x00-8",
        "a" * 300,
    ]
)
_HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Reply-To",
        "Sender",
        "Date",
        "Auto-Submitted",
        "Precedence",
        "X-Failed-Recipients",
        "List-Id",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "MIME-Version",
        "X-Anything",
    ]
)
# Header text: printable, 8-bit, control characters, the specials of address and
# parameter syntax, in any mix.
_header_chars = st.binary(max_size=120) | st.text(
    st.sampled_from([*"<>@\"()\\,;:=?*%'[] \t.", "a", "é", "\x00", "\x7f", "\U0001f600"]),
    max_size=120,
).map(lambda s: s.encode("utf-8", "surrogatepass"))


@st.composite
def _encoded_word(draw: st.DrawFn) -> bytes:
    """An RFC 2047 encoded word, right or wrong: any charset, B or Q, any payload."""
    charset = draw(_CHARSETS).encode("utf-8", "surrogatepass")
    data = draw(st.binary(max_size=60))
    encoding = draw(st.sampled_from([b"B", b"Q", b"b", b"X"]))
    if encoding in (b"B", b"b"):
        payload = base64.b64encode(data)
        payload = draw(st.sampled_from([payload, payload[:-1], payload + b"=", b"!!" + payload]))
    else:
        payload = quopri.encodestring(data, header=True).replace(b"\n", b"")
    return b"=?" + charset + b"?" + encoding + b"?" + payload + b"?="


_header_value = st.lists(
    st.one_of(
        _header_chars,
        _encoded_word(),
        st.sampled_from(
            [
                b"Ada <ada@example.com>",
                b'"Lovelace, Ada" <ada@example.com>, bob@example.org',
                b"undisclosed-recipients:;",
                b"<id-1@example.com> <id-2@example.com>",
                b"((nested) (comments))",
                b"auto-replied",
                b"bulk",
            ]
        ),
    ),
    max_size=4,
).map(b" ".join)


@st.composite
def _header(draw: st.DrawFn) -> bytes:
    name = draw(_HEADER_NAMES | st.text("ABCxyz-:\x00 é", min_size=0, max_size=12)).encode()
    value = draw(_header_value)
    if draw(st.booleans()):  # folded over several lines, or one very long line
        value = draw(st.sampled_from([b"\r\n ", b"\n\t", b"\r\n"])).join([value, value])
    elif draw(st.integers(0, 9)) == 0:
        value = value * draw(st.integers(50, 400))
    return name + b": " + value


_TRANSFER = st.sampled_from(
    ["7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "BASE64", "bogus", ""]
)


@st.composite
def _leaf(draw: st.DrawFn) -> tuple[list[bytes], bytes]:
    """A single part: its headers and its body, encoded or mis-encoded."""
    content_type = draw(
        st.sampled_from(
            [
                "text/plain",
                "text/html",
                "text/enriched",
                "application/pdf",
                "image/png",
                "message/delivery-status",
                "message/disposition-notification",
                "text/rfc822-headers",
                "message/rfc822",
                "application/octet-stream",
                "multipart/mixed",  # a multipart with no boundary
                "text",
                "/",
                "x/" + "y" * 100,
            ]
        )
    )
    charset = draw(_CHARSETS)
    transfer = draw(_TRANSFER)
    text = draw(
        st.text(max_size=300)
        | st.sampled_from(
            [
                "Action: failed\nStatus: 5.1.1\nFinal-Recipient: rfc822; a@b.c\n"
                "Diagnostic-Code: smtp; 550 no such user\x00",
                "Reporting-MTA: dns; mx\n\nAction: delayed\nStatus: 4.4.7\n",
                "Message-ID: <original@example.com>\nSubject: hi\n",
                "<html><body><p>Hi<br>there</p><script>x()</script></body></html>",
                "<div>" * 200,
                "Hi\n\nOn Mon, 1 Jan 2026, Ada <a@b.c> wrote:\n> quoted\n-- \nsig",
                "+2AA- is a lone surrogate in utf-7",
                "\\ud800 is one in the escape codecs",
                "550 5.1.1 <gone@example.com>: unknown user\x00\x1b",
            ]
        )
    )
    data = text.encode(charset if charset in ("utf-8", "iso-8859-1") else "utf-8", "replace")
    if draw(st.integers(0, 4)) == 0:
        data = draw(st.binary(max_size=300))
    if transfer.lower() == "base64":
        body = base64.encodebytes(data)
        body = draw(st.sampled_from([body, body[:-3], body.replace(b"=", b""), b"%%%" + body]))
    elif transfer == "quoted-printable":
        body = quopri.encodestring(data) + draw(st.sampled_from([b"", b"=", b"=Z9", b"=\n"]))
    else:
        body = data
    if draw(st.integers(0, 9)) == 0:
        body = b"x" * draw(st.integers(1000, 20_000))  # one long line
    headers = [
        b"Content-Type: " + content_type.encode() + b"; charset=" + charset.encode(),
        b"Content-Transfer-Encoding: " + transfer.encode(),
    ]
    disposition = draw(
        st.sampled_from(
            [
                None,
                b"attachment",
                b"inline",
                b'attachment; filename="../../etc/passwd"',
                b"attachment; filename*=utf-8''%E2%80%AEfdp.exe",
                b"attachment; filename*=bogus''%ff%fe%00",
                b'inline; filename=".hidden"',
                b"attachment; filename=" + b"n" * 400 + b".pdf",
                b"attachment; filename*0*=utf-8''a; filename*1=b; filename*3=c",
            ]
        )
    )
    if disposition is not None:
        headers.append(b"Content-Disposition: " + disposition)
    headers += draw(st.lists(_header(), max_size=2))
    return headers, body


@st.composite
def _multipart(
    draw: st.DrawFn, children: st.SearchStrategy[tuple[list[bytes], bytes]]
) -> tuple[list[bytes], bytes]:
    """A multipart of the given parts, its boundary right, missing, or repeated oddly."""
    subtype = draw(
        st.sampled_from(
            [
                "mixed",
                "alternative",
                "related",
                "digest",
                "report; report-type=delivery-status",
                "report; report-type=disposition-notification",
                "signed",
            ]
        )
    )
    boundary = draw(st.sampled_from([b"b1", b"=_b", b"", b"a" * 80, b"x y", b"--", b"\xff"]))
    newline = draw(_NEWLINE)
    parts = draw(st.lists(children, max_size=4))
    body = draw(st.sampled_from([b"", b"preamble" + newline]))
    for headers, content in parts:
        body += b"--" + boundary + newline + newline.join(headers) + newline * 2 + content
        body += newline
    body += draw(st.sampled_from([b"--" + boundary + b"--" + newline, b"", b"--" + boundary]))
    content_type = b"Content-Type: multipart/" + subtype.encode()
    if draw(st.integers(0, 5)):
        content_type += b'; boundary="' + boundary + b'"'
    return [content_type], body


@st.composite
def _rfc822(
    draw: st.DrawFn, children: st.SearchStrategy[tuple[list[bytes], bytes]]
) -> tuple[list[bytes], bytes]:
    """A forwarded message (message/rfc822) wrapping another part."""
    headers, body = draw(children)
    newline = draw(_NEWLINE)
    inner = newline.join(draw(st.lists(_header(), max_size=3)) + headers) + newline * 2 + body
    return [b"Content-Type: message/rfc822"], inner


_part = st.recursive(
    _leaf(),
    lambda children: _multipart(children) | _rfc822(children),
    max_leaves=8,
)


# Headers that make a mail a bounce or an automatic reply, read by other code than a
# customer's mail is.
_REPORT_HEADERS = st.sampled_from(
    [
        b"Subject: Undelivered Mail Returned to Sender",
        b"Subject: Delivery Status Notification (Delay)",
        b"X-Failed-Recipients: gone@example.com",
        b"X-Failed-Recipients: =?utf-7?q?+2AA-?= \x00",
        b"From: MAILER-DAEMON@mx.example.com",
        b"Auto-Submitted: auto-replied",
        b"Precedence: bulk",
    ]
)


@st.composite
def _message(draw: st.DrawFn) -> bytes:
    newline = draw(_NEWLINE)
    top = draw(st.lists(_header() | _REPORT_HEADERS, max_size=8))
    if draw(st.booleans()):
        top.insert(0, b"From: Ada <ada@example.com>")
    headers, body = draw(_part)
    return newline.join(top + headers) + newline * 2 + body


@FUZZ
@given(_message(), st.sampled_from(["", "<>", "ada@example.com", "MAILER-DAEMON@mx.example"]))
def test_hostile_messages_are_parsed_or_refused(raw: bytes, mail_from: str) -> None:
    _stored_or_refused(raw, mail_from)


@FUZZ
@given(st.lists(_header(), max_size=12), _NEWLINE)
def test_any_headers_are_parsed_or_refused(headers: list[bytes], newline: bytes) -> None:
    _stored_or_refused(newline.join(headers) + newline * 2 + b"body")


# Past the limits: refused with the reason, quickly.


@settings(max_examples=20, deadline=timedelta(seconds=2), derandomize=True, database=None)
@given(st.integers(LIMITS.mime_depth + 1, 200), _NEWLINE)
def test_nesting_past_the_limit_is_refused(depth: int, newline: bytes) -> None:
    headers, body = [b"Content-Type: text/plain"], b"deep"
    for level in range(depth):
        boundary = b"b%d" % level
        body = b"--" + boundary + newline + newline.join(headers) + newline * 2 + body
        body += newline + b"--" + boundary + b"--" + newline
        headers = [b'Content-Type: multipart/mixed; boundary="' + boundary + b'"']
    raw = b"From: a@b.c" + newline + newline.join(headers) + newline * 2 + body
    with pytest.raises(Unparseable, match="nest"):
        parse(raw, "a@b.c", LIMITS)


def test_nested_comments_in_an_address_are_refused_not_a_recursion_error() -> None:
    # The email package parses comments recursively: thousands of "(" once escaped as a
    # RecursionError (the worker turned it into a refusal; the entry point now does).
    for name in (b"From", b"To"):
        raw = b"From: a@b.c\r\n" + name + b": " + b"(" * 5000 + b"a@b.c\r\n\r\nhi"
        _stored_or_refused(raw)
