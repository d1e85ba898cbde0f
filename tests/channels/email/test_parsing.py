"""Parsing odd and hostile mail: what is kept, what degrades, what is refused and why."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from channels.base import safe_filename
from channels.email import parsing
from channels.email.parsing import Limits, Unparseable, parse


def _mail(body: str = "Hello, where is my order?", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Ada Lovelace <ada@example.com>")
    msg["To"] = "support@demo.switchboard.test"
    msg["Subject"] = headers.pop("Subject", "Order question")
    msg["Message-ID"] = headers.pop("Message_ID", "<abc@example.com>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def test_plain_mail() -> None:
    mail = parse(_mail().as_bytes(), "ada@example.com")
    assert mail.message_id == "abc@example.com"
    assert (mail.from_name, mail.from_address) == ("Ada Lovelace", "ada@example.com")
    assert mail.subject == "Order question"
    assert mail.text == "Hello, where is my order?"
    assert mail.automated is None
    assert mail.report is None
    assert not mail.defects


def test_quoted_history_and_signature_are_cut_for_display_but_kept() -> None:
    body = (
        "Yes, the address is 12 rue de la Paix.\n\n-- \nAda\n\n"
        "On Mon, 23 Nov 2026 at 10:00, Demo Shop <support@demo.switchboard.test> wrote:\n"
        "> Could you confirm your address?\n> Thanks\n"
    )
    mail = parse(_mail(body).as_bytes(), "ada@example.com")
    assert mail.text == "Yes, the address is 12 rue de la Paix."
    assert "Could you confirm your address?" in mail.full_text


def test_french_reply_header_is_recognised() -> None:
    body = (
        "Merci, c'est reçu.\n\nLe lun. 23 nov. 2026 à 10:00, Support <s@x.fr> a écrit :\n"
        "> Bonjour\n"
    )
    assert parse(_mail(body).as_bytes(), "ada@example.com").text == "Merci, c'est reçu."


def test_html_only_mail_becomes_text_without_markup() -> None:
    msg = _mail()
    msg.set_content(
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
        "<body><p>Hello &amp; welcome</p><div>Line two<br>Line three</div>"
        '<img src="x" onerror="alert(2)"><a href="javascript:evil()">link</a></body></html>',
        subtype="html",
    )
    mail = parse(msg.as_bytes(), "ada@example.com")
    assert mail.html
    assert "<" not in mail.full_text
    assert "alert" not in mail.full_text
    assert mail.full_text.splitlines()[:3] == ["Hello & welcome", "Line two", "Line three"]


def test_unknown_charset_degrades_to_text() -> None:
    raw = (
        b"From: a@example.com\r\nTo: support@demo.switchboard.test\r\nSubject: x\r\n"
        b"Message-ID: <cs@example.com>\r\nContent-Type: text/plain; charset=x-no-such\r\n\r\n"
        b"caf\xc3\xa9 ok\r\n"
    )
    mail = parse(raw, "a@example.com")
    assert mail.text == "café ok"
    assert any("unknown charset" in d for d in mail.defects)


def test_malformed_headers_degrade() -> None:
    raw = (
        b"From: =?utf-8?q?broken <a@example.com>\r\nTo: ,,,@@@\r\n"
        b"Subject: =?x-unknown?b?!!!?= hello\r\nMessage-ID: not-in-brackets\r\n\r\nbody\r\n"
    )
    mail = parse(raw, "a@example.com")
    assert mail.from_address == "a@example.com"
    assert mail.text == "body"
    assert mail.message_id_derived  # no <...> id: one is derived from the bytes
    assert parse(raw, "a@example.com").message_id == mail.message_id


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("invoice\x00.pdf", "invoice.pdf"),
        (".htaccess", "htaccess"),
        ("a<b>c|d?.txt", "a_b_c_d_.txt"),
        ("   ", "attachment-3.pdf"),
        (None, "attachment-3.pdf"),
        ("résumé.pdf", "résumé.pdf"),
    ],
)
def test_attachment_names_are_sanitised(name: str | None, expected: str) -> None:
    assert safe_filename(name, "application/pdf", 3) == expected


def test_attachments_are_kept_with_safe_names() -> None:
    msg = _mail()
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="../x.pdf")
    msg.add_attachment(
        b"<svg onload=alert(1)>", maintype="image", subtype="svg+xml", filename="a.svg"
    )
    mail = parse(msg.as_bytes(), "ada@example.com")
    assert [(a.filename, a.content_type, a.content) for a in mail.attachments] == [
        ("x.pdf", "application/pdf", b"%PDF-1.4"),
        ("a.svg", "image/svg+xml", b"<svg onload=alert(1)>"),
    ]


def test_limits_refuse_with_reasons() -> None:
    huge_headers = b"X-Filler: " + b"a" * 70_000 + b"\r\n" + _mail().as_bytes()
    with pytest.raises(Unparseable, match="headers larger"):
        parse(huge_headers, "a@example.com")

    nested = _mail()
    inner = nested
    for _ in range(12):
        child = EmailMessage()
        child.set_content("deeper")
        inner.make_mixed()
        inner.attach(child)
        inner = child
    with pytest.raises(Unparseable, match="MIME nesting"):
        parse(nested.as_bytes(), "a@example.com")

    many = _mail()
    for n in range(30):
        many.add_attachment(b"x", maintype="application", subtype="octet-stream", filename=f"{n}")
    with pytest.raises(Unparseable, match="more than 25 attachments"):
        parse(many.as_bytes(), "a@example.com")
    with pytest.raises(Unparseable, match="MIME parts"):
        parse(many.as_bytes(), "a@example.com", Limits(parts=10))


def test_long_text_is_truncated_not_refused() -> None:
    mail = parse(_mail("word " * 50_000).as_bytes(), "a@example.com", Limits(text_chars=1000))
    assert len(mail.full_text) == 1000
    assert any("truncated" in d for d in mail.defects)


def test_no_sender_at_all_is_refused() -> None:
    raw = b"To: support@demo.switchboard.test\r\nSubject: hi\r\n\r\nbody\r\n"
    with pytest.raises(Unparseable, match="no sender"):
        parse(raw, "<>")


def test_threading_headers() -> None:
    mail = parse(
        _mail(In_Reply_To="<p2@x.com>", References="<p0@x.com> <p1@x.com> <p2@x.com>").as_bytes(),
        "ada@example.com",
    )
    assert mail.in_reply_to == ("p2@x.com",)
    assert mail.references == ("p2@x.com", "p1@x.com", "p0@x.com")  # newest first


def test_header_values_met_before_read_the_same_and_the_memo_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Parsed header values are shared by the mails a worker parses (issue 14: a customer's
    From, our To, the usual Content-Type are parsed once); a mail read after the memo was
    filled and emptied reads as it did the first time, and long values are not kept."""
    monkeypatch.setattr(parsing, "MEMO_ENTRIES", 8)
    monkeypatch.setattr(parsing, "_parsed", {})
    first = parse(_mail().as_bytes(), "ada@example.com")
    for n in range(20):
        parse(_mail(Subject=f"Order question {n}", Message_ID=f"<m{n}@x>").as_bytes(), "a@x.y")
        assert len(parsing._parsed) <= 8
    long_subject = "word " * 100
    parse(_mail(Subject=long_subject).as_bytes(), "ada@example.com")
    assert all(len(value) <= parsing.MEMO_VALUE_CHARS for _, value in parsing._parsed)
    assert parse(_mail().as_bytes(), "ada@example.com") == first
