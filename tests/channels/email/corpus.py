"""A corpus of hostile and odd mail, built here rather than shipped: each entry is a name, the
raw bytes as they go over the wire, and what must become of it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from tests.channels.email import samples

Outcome = Literal["stored", "quarantined", "report", "refused", "any"]
TO = samples.OUR


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes
    # "any": stored or quarantined are both fine, as long as there is a reason when quarantined.
    expect: Outcome
    sender: str = "odd@example.com"


def _headers(n: int, extra: str = "", subject: str = "odd mail") -> str:
    return (
        f"From: Odd Sender <odd@example.com>\r\nTo: {TO}\r\nSubject: {subject}\r\n"
        f"Message-ID: <corpus-{n}@example.com>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n{extra}"
    )


def _plain(n: int, body: str = "hello", extra: str = "", subject: str = "odd mail") -> bytes:
    return (_headers(n, extra, subject) + "\r\n" + body + "\r\n").encode("utf-8", "surrogateescape")


def cases() -> Iterator[Case]:
    """Every case with its long header lines folded as a mail client would; what still has a
    line past SMTP's 1000 octets must be refused by SMTP itself."""
    for case in _cases():
        raw = _fold(case.raw)
        too_long = any(len(line) > 998 for line in raw.split(b"\r\n"))
        yield Case(case.name, raw, "refused" if too_long else case.expect, case.sender)


def _fold(raw: bytes) -> bytes:
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = []
    for line in head.split(b"\r\n"):
        while len(line) > 900 and b" " in line[1:900]:
            cut = line.rindex(b" ", 1, 900)
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)
    return b"\r\n".join(lines) + sep + body


def _cases() -> Iterator[Case]:
    n = 0

    def nid() -> int:
        nonlocal n
        n += 1
        return n

    # Encoded-word floods: thousands of =?..?= in one header.
    for count in (50, 200, 1000, 3000, 6000, 10000, 400, 800, 1500, 2500):
        words = " ".join(f"=?utf-8?q?w{i}?=" for i in range(count))
        yield Case(f"encoded-word flood {count}", _plain(nid(), subject=words), "any")
    for count in (100, 1000, 3000, 6000):
        words = " ".join(f"=?utf-8?b?{base64.b64encode(b'xx').decode()}?=" for _ in range(count))
        yield Case(f"base64 encoded-word flood {count}", _plain(nid(), subject=words), "any")

    # Deep MIME nesting.
    for depth in (2, 5, 9, 11, 15, 25, 50, 100, 200, 400):
        i = nid()
        parts = "".join(
            f'--b{d}\r\nContent-Type: multipart/mixed; boundary="b{d + 1}"\r\n\r\n'
            for d in range(depth)
        )
        closes = "".join(f"--b{d}--\r\n" for d in reversed(range(depth)))
        raw = (
            _headers(i, 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n')
            + "\r\n"
            + parts
            + f"--b{depth}\r\nContent-Type: text/plain\r\n\r\ndeep\r\n"
            + closes
        )
        yield Case(f"nesting {depth}", raw.encode(), "stored" if depth < 10 else "quarantined")

    # Many parts.
    for count in (10, 24, 50, 150, 199, 250, 1000, 3000):
        i = nid()
        body = "".join(f"--p\r\nContent-Type: text/plain\r\n\r\npart {k}\r\n" for k in range(count))
        raw = (
            _headers(i, 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="p"\r\n')
            + "\r\n"
            + body
            + "--p--\r\n"
        )
        yield Case(f"{count} parts", raw.encode(), "stored" if count < 200 else "quarantined")
    for count in (20, 26, 60):
        i = nid()
        body = "".join(
            f'--p\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="f{k}.bin"\r\n\r\nx\r\n'
            for k in range(count)
        )
        raw = (
            _headers(i, 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="p"\r\n')
            + "\r\n--p\r\nContent-Type: text/plain\r\n\r\nsee files\r\n"
            + body
            + "--p--\r\n"
        )
        yield Case(f"{count} attachments", raw.encode(), "stored" if count <= 25 else "quarantined")

    # Charsets the parser does not know, lies about, or that are malicious strings.
    charsets = [
        "x-unknown",
        "utf-7",
        "",
        "../../etc/passwd",
        "a" * 300,
        "utf-16",
        "utf-32",
        "iso-2022-jp",
        "gb18030",
        "koi8-r",
        "windows-1252",
        "latin1",
        "ascii",
        "utf8mb4",
        "unicode-1-1-utf-7",
        "x-mac-roman",
        "cp1026",
        "big5",
        '"quoted"',
        "utf-8; x=y",
    ]
    for charset in charsets:
        i = nid()
        data = (
            _headers(i, f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\n")
            + "\r\n"
        ).encode() + b"caf\xc3\xa9 \xff\xfe\x00 bytes\r\n"
        yield Case(f"charset {charset[:20]!r}", data, "stored")
    for charset in ("x-unknown", "utf-7", "iso-2022-jp", "bogus"):
        yield Case(
            f"header charset {charset}",
            _plain(nid(), subject=f"=?{charset}?q?caf=E9?= =?{charset}?b?!!!?="),
            "stored",
        )

    # Bare LF, bare CR, mixed line ends.
    for k, (sep, label) in enumerate([("\n", "LF"), ("\r", "CR"), ("\n\r", "LFCR")] * 4):
        i = nid()
        text = _headers(i).replace("\r\n", sep) + sep + f"line one{sep}line two {k}{sep}"
        yield Case(f"bare {label} {k}", text.encode(), "any")

    # Header injection attempts.
    injections = [
        "Subject: =?utf-8?q?hi=0D=0ABcc:_victim@example.com?=",
        "Subject: hi\r\n\tBcc: victim@example.com",
        "X-Test: a\rBcc: victim@example.com",
        "Subject: =?utf-8?b?" + base64.b64encode(b"x\r\nBcc: v@example.com").decode() + "?=",
        "Reply-To: attacker@example.net\r\nReply-To: second@example.net",
        "To: " + ", ".join(f"u{k}@example.com" for k in range(500)),
        'Cc: <<<>>>@@@, ,,, "unterminated',
        "In-Reply-To: <" + "x" * 5000 + ">",
        "References: " + " ".join(f"<r{k}@x>" for k in range(2000)),
        "Message-ID: <a@b> <c@d>",
        'Content-Type: text/plain; name="a\r\n b"',
        "Content-Disposition: attachment; filename*=utf-8''%0D%0ABcc%3A%20x",
        "X-Header-With-Colon:: value",
        "From: =?utf-8?q?Admin=0D=0A?= <odd@example.com>",
        "Subject: \x00\x01\x02 control",
    ]
    for k, header in enumerate(injections):
        i = nid()
        raw = (
            f"From: odd@example.com\r\nTo: {TO}\r\nMessage-ID: <corpus-{i}@example.com>\r\n"
            f"{header}\r\n\r\nbody {k}\r\n"
        )
        yield Case(f"header injection {k}", raw.encode("utf-8", "surrogateescape"), "any")

    # Path-traversal and hostile attachment names.
    names = [
        "../../../../etc/passwd",
        "..\\..\\boot.ini",
        "/etc/shadow",
        "C:\\Windows\\evil.exe",
        "a\x00b.txt",
        ".bashrc",
        "....//....//x",
        "%2e%2e%2fpasswd",
        "con.txt",
        "x" * 1000 + ".pdf",
        "<script>alert(1)</script>.html",
        "ʇxt.ǝlıɟ",  # noqa: RUF001 (upside-down text, on purpose)
        "\u202ecod.exe",
        "name\r\nX-Injected: yes.txt",
        "",
    ]
    for k, name in enumerate(names):
        i = nid()
        raw = (
            _headers(i, 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="z"\r\n')
            + "\r\n--z\r\nContent-Type: text/plain\r\n\r\nfile attached\r\n"
            + f'--z\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="{name}"\r\n'
            + "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--z--\r\n"
        )
        yield Case(f"attachment name {k}", raw.encode("utf-8", "surrogateescape"), "any")
        i = nid()
        encoded = name.encode("utf-8", "surrogateescape").hex()
        pct = "".join(f"%{encoded[j : j + 2]}" for j in range(0, len(encoded), 2))
        raw = (
            _headers(i, 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="z"\r\n')
            + "\r\n--z\r\nContent-Type: text/plain\r\n\r\nfile attached\r\n"
            + f"--z\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=utf-8''{pct}\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--z--\r\n"
        )
        yield Case(f"RFC 2231 attachment name {k}", raw.encode(), "any")

    # Huge single lines: refused by SMTP itself when raw, stored (truncated) when encoded.
    for size in (1200, 5000, 100_000):
        yield Case(f"raw line of {size}", _plain(nid(), "y" * size), "refused")
    for size in (50_000, 500_000, 2_000_000):
        i = nid()
        payload = base64.encodebytes(b"z" * size).decode().replace("\n", "\r\n")
        raw = (
            _headers(
                i,
                "MIME-Version: 1.0\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n",
            )
            + "\r\n"
            + payload
        )
        yield Case(f"encoded line of {size}", raw.encode(), "stored")

    # Delivery reports in the common formats, about messages we never sent.
    for k in range(5):
        yield Case(f"rfc3464 postfix {k}", samples.rfc3464(f"x{k}@nowhere"), "report", "<>")
        yield Case(
            f"rfc3464 gmail {k}",
            samples.rfc3464(f"y{k}@nowhere", headers_only=False),
            "report",
            "<>",
        )
        yield Case(f"exim bounce {k}", samples.exim_bounce(f"z{k}@nowhere"), "report", "<>")
        yield Case(f"qmail bounce {k}", samples.qmail_bounce(f"w{k}@nowhere"), "report", "<>")
        yield Case(
            f"delayed {k}",
            samples.rfc3464(f"d{k}@nowhere", action="delayed", status="4.4.7"),
            "report",
            "<>",
        )
        yield Case(f"read receipt {k}", samples.read_receipt(f"m{k}@nowhere"), "report")

    # Auto-replies of the common kinds: stored (as automated), never answered.
    for k in range(3):
        for kind, headers in samples.AUTO_REPLIES.items():
            extra = "".join(f"{h}: {v}\r\n" for h, v in headers.items() if h != "Subject")
            yield Case(
                f"{kind} {k}", _plain(nid(), "I am away.", extra, headers["Subject"]), "stored"
            )

    # Odd but legitimate text: scripts, emoji, right-to-left, lying UTF-8.
    subjects = [
        "😀🎉 order",
        "שלום עולם",
        "مرحبا",
        "日本語の件名",
        "Ünïcödé " * 50,
        "\u202eevil",
        "tab\there",
        "   ",
        "=?",
        "?=",
    ]
    for k, subject in enumerate(subjects):
        yield Case(f"odd subject {k}", _plain(nid(), "text", subject=subject), "stored")
    for k in range(10):
        i = nid()
        head = (_headers(i, "Content-Type: text/plain; charset=utf-8\r\n") + "\r\n").encode()
        yield Case(
            f"invalid utf-8 body {k}",
            head + bytes([0xC3, 0x28, 0xA0 + k, 0xE2]) + b" tail\r\n",
            "stored",
        )

    # Structure that is simply broken.
    broken: list[tuple[str, bytes | None, Outcome]] = [
        ("no headers at all", b"\r\njust a body\r\n", "stored"),
        ("only headers", f"From: odd@example.com\r\nTo: {TO}\r\n".encode(), "stored"),
        ("binary garbage", bytes(range(256)) * 20, "any"),
        ("NUL bytes", _plain(nid(), "a\x00b\x00c"), "stored"),
        (
            "8-bit header",
            _headers(nid()).encode() + "Subject: café ünïcödé\r\n\r\nx\r\n".encode(),
            "stored",
        ),
        (
            "multipart without boundary",
            (_headers(nid(), "Content-Type: multipart/mixed\r\n") + "\r\nbody\r\n").encode(),
            "any",
        ),
        (
            "boundary never closed",
            (
                _headers(nid(), 'Content-Type: multipart/mixed; boundary="q"\r\n')
                + "\r\n--q\r\nContent-Type: text/plain\r\n\r\nopen\r\n"
            ).encode(),
            "stored",
        ),
        (
            "invalid base64",
            (
                _headers(nid(), "Content-Transfer-Encoding: base64\r\n")
                + "\r\n!!!not base64@@@\r\n"
            ).encode(),
            "any",
        ),
        (
            "broken quoted-printable",
            (
                _headers(nid(), "Content-Transfer-Encoding: quoted-printable\r\n")
                + "\r\n=ZZ=\r\n=4\r\n"
            ).encode(),
            "stored",
        ),
        (
            "unknown transfer encoding",
            (
                _headers(nid(), "Content-Transfer-Encoding: x-uuencode-42\r\n") + "\r\nbody\r\n"
            ).encode(),
            "any",
        ),
        ("garbage date", _plain(nid(), extra="Date: the day after tomorrow\r\n"), "stored"),
        (
            "from without address",
            b"From: Just A Name\r\nTo: " + TO.encode() + b"\r\n\r\nx\r\n",
            "stored",
        ),
        (
            "5000 headers",
            (
                _headers(nid())
                + "".join(f"X-H{k}: {'v' * 20}\r\n" for k in range(5000))
                + "\r\nx\r\n"
            ).encode(),
            "quarantined",
        ),
        ("header line of 900", _plain(nid(), extra="X-Long: " + "h" * 900 + "\r\n"), "stored"),
        (
            "html only with script",
            (
                _headers(nid(), "Content-Type: text/html\r\n")
                + "\r\n<script>alert(1)</script><p>hi</p>\r\n"
            ).encode(),
            "stored",
        ),
        (
            "html bomb",
            (
                _headers(nid(), "Content-Type: text/html\r\n") + "\r\n" + "<div>" * 20000 + "x\r\n"
            ).encode(),
            "any",
        ),
        ("message/rfc822 chain", None, "any"),
        (
            "winmail.dat",
            (
                _headers(nid(), 'Content-Type: multipart/mixed; boundary="t"\r\n')
                + '\r\n--t\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\nContent-Transfer-Encoding: base64\r\n\r\neJ8+IgAA\r\n--t--\r\n'
            ).encode(),
            "stored",
        ),
        (
            "calendar invite",
            (
                _headers(nid(), "Content-Type: text/calendar; method=REQUEST\r\n")
                + "\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
            ).encode(),
            "stored",
        ),
        ("empty body", _plain(nid(), ""), "stored"),
    ]
    for name, given, expect in broken:
        if given is None:
            i = nid()
            inner = "From: a@example.com\r\nSubject: inner\r\n\r\ninner body\r\n"
            for _ in range(30):
                inner = f"Content-Type: message/rfc822\r\n\r\n{inner}"
            given = (_headers(i) + inner).encode()
        yield Case(name, given, expect)
