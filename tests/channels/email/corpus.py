"""A corpus of hostile and odd mail, built here rather than shipped: each entry is a name, the
raw bytes as they go over the wire, and what must become of it: stored (with the text and the
file names the console shows), quarantined (with the reason), a delivery report, or refused by
SMTP itself."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from tests.channels.email import samples

Outcome = Literal["stored", "quarantined", "report", "refused"]
TO = samples.OUR


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes
    expect: Outcome
    sender: str = "odd@example.com"
    # Stored: the message's text exactly, its attachments' names in order, the receipt's subject
    # (None: not pinned). Quarantined: words the reason must contain.
    text: str | None = None
    files: tuple[str, ...] | None = None
    subject: str | None = None
    reason: str | None = None


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
        if too_long:
            yield Case(case.name, raw, "refused", case.sender)
        else:
            yield replace(case, raw=raw)


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

    # Encoded-word floods: thousands of =?..?= in one header. Up to 3,000 words the headers
    # stay under the parser's 64 KiB and the subject is decoded (adjacent words join without
    # the space between them, RFC 2047 6.2; cut to 500 characters); past that they are over it.
    for count in (50, 200, 1000, 3000, 6000, 10000, 400, 800, 1500, 2500):
        words = " ".join(f"=?utf-8?q?w{i}?=" for i in range(count))
        decoded = "".join(f"w{i}" for i in range(count))[:500]
        yield (
            Case(
                f"encoded-word flood {count}",
                _plain(nid(), subject=words),
                "stored",
                text="hello",
                subject=decoded,
            )
            if count <= 3000
            else Case(
                f"encoded-word flood {count}",
                _plain(nid(), subject=words),
                "quarantined",
                reason="headers larger than 65536 bytes",
            )
        )
    for count in (100, 1000, 3000, 6000):
        words = " ".join(f"=?utf-8?b?{base64.b64encode(b'xx').decode()}?=" for _ in range(count))
        yield (
            Case(
                f"base64 encoded-word flood {count}",
                _plain(nid(), subject=words),
                "stored",
                text="hello",
                subject=("xx" * count)[:500],
            )
            if count <= 3000
            else Case(
                f"base64 encoded-word flood {count}",
                _plain(nid(), subject=words),
                "quarantined",
                reason="headers larger than 65536 bytes",
            )
        )

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
        if label != "LFCR":
            # A bare LF or CR ends a line as CRLF does.
            yield Case(
                f"bare {label} {k}",
                text.encode(),
                "stored",
                text=f"line one\nline two {k}",
                subject="odd mail",
            )
        else:
            # LF then CR is two line ends, the second a blank line: the headers end after From,
            # and the rest (the other headers too) is the body, shown rather than lost.
            body = "\n\n".join(_headers(i).split("\r\n")[1:])
            yield Case(
                f"bare {label} {k}",
                text.encode(),
                "stored",
                text=f"{body}\nline one\n\nline two {k}",
                subject="",
            )

    # Header injection attempts.
    # Each is stored with its body as the text; an injected line break never makes a header
    # (the subject stays one line) and a named part is a file whose name keeps no line break.
    # Pinned: (header, subject, text, files); None is not pinned.
    injections: list[tuple[str, str | None, str | None, tuple[str, ...]]] = [
        (
            "Subject: =?utf-8?q?hi=0D=0ABcc:_victim@example.com?=",
            "hi Bcc: victim@example.com",
            None,
            (),
        ),
        ("Subject: hi\r\n\tBcc: victim@example.com", "hi Bcc: victim@example.com", None, ()),
        ("X-Test: a\rBcc: victim@example.com", "", None, ()),
        (
            "Subject: =?utf-8?b?" + base64.b64encode(b"x\r\nBcc: v@example.com").decode() + "?=",
            "x Bcc: v@example.com",
            None,
            (),
        ),
        ("Reply-To: attacker@example.net\r\nReply-To: second@example.net", "", None, ()),
        ("To: " + ", ".join(f"u{k}@example.com" for k in range(500)), "", None, ()),
        ('Cc: <<<>>>@@@, ,,, "unterminated', "", None, ()),
        ("In-Reply-To: <" + "x" * 5000 + ">", None, None, ()),  # one word: refused by SMTP
        ("References: " + " ".join(f"<r{k}@x>" for k in range(2000)), "", None, ()),
        ("Message-ID: <a@b> <c@d>", "", None, ()),
        # A text part with a name is a file (the legacy Content-Type name= is a file name).
        ('Content-Type: text/plain; name="a\r\n b"', "", "(attachments only)", ("a b",)),
        (
            "Content-Disposition: attachment; filename*=utf-8''%0D%0ABcc%3A%20x",
            "",
            "(attachments only)",
            ("Bcc_ x",),
        ),
        ("X-Header-With-Colon:: value", "", None, ()),
        ("From: =?utf-8?q?Admin=0D=0A?= <odd@example.com>", "", None, ()),
        ("Subject: \x00\x01\x02 control", "control", None, ()),
    ]
    for k, (header, subject, shown, files) in enumerate(injections):
        i = nid()
        raw = (
            f"From: odd@example.com\r\nTo: {TO}\r\nMessage-ID: <corpus-{i}@example.com>\r\n"
            f"{header}\r\n\r\nbody {k}\r\n"
        )
        yield Case(
            f"header injection {k}",
            raw.encode("utf-8", "surrogateescape"),
            "stored",
            text=shown or f"body {k}",
            files=files,
            subject=subject,
        )

    # Path-traversal and hostile attachment names.
    # Each is stored with its text and one file, under the name kept: (name, kept as a quoted
    # filename, kept as an RFC 2231 filename*). A quoted backslash escapes the next character
    # (RFC 5322 quoted-pair); a raw CRLF in a quoted name ends the header there.
    names = [
        ("../../../../etc/passwd", "passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini", "boot.ini"),
        ("/etc/shadow", "shadow", "shadow"),
        ("C:\\Windows\\evil.exe", "C_Windowsevil.exe", "evil.exe"),
        ("a\x00b.txt", "ab.txt", "ab.txt"),
        (".bashrc", "bashrc", "bashrc"),
        ("....//....//x", "x", "x"),
        ("%2e%2e%2fpasswd", "2e_2e_2fpasswd", "2e_2e_2fpasswd"),
        ("con.txt", "con.txt", "con.txt"),
        ("x" * 1000 + ".pdf", "", ""),  # one word past 998 octets: refused by SMTP
        ("<script>alert(1)</script>.html", "script_.html", "script_.html"),
        ("ʇxt.ǝlıɟ", "ʇxt.ǝlıɟ", "ʇxt.ǝlıɟ"),  # noqa: RUF001 (upside-down text, on purpose)
        ("\u202ecod.exe", "cod.exe", "cod.exe"),
        ("name\r\nX-Injected: yes.txt", "name", "nameX-Injected_ yes.txt"),
        ("", "attachment-1.bin", "attachment-1.bin"),
    ]
    for k, (name, kept, kept_2231) in enumerate(names):
        i = nid()
        raw = (
            _headers(i, 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="z"\r\n')
            + "\r\n--z\r\nContent-Type: text/plain\r\n\r\nfile attached\r\n"
            + f'--z\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="{name}"\r\n'
            + "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--z--\r\n"
        )
        yield Case(
            f"attachment name {k}",
            raw.encode("utf-8", "surrogateescape"),
            "stored",
            text="file attached",
            files=(kept,),
        )
        i = nid()
        encoded = name.encode("utf-8", "surrogateescape").hex()
        pct = "".join(f"%{encoded[j : j + 2]}" for j in range(0, len(encoded), 2))
        raw = (
            _headers(i, 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="z"\r\n')
            + "\r\n--z\r\nContent-Type: text/plain\r\n\r\nfile attached\r\n"
            + f"--z\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=utf-8''{pct}\r\n"
            + "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--z--\r\n"
        )
        yield Case(
            f"RFC 2231 attachment name {k}",
            raw.encode(),
            "stored",
            text="file attached",
            files=(kept_2231,),
        )

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
        # No From: the envelope sender's; the text is the bytes' best-effort reading.
        ("binary garbage", bytes(range(256)) * 20, "stored"),
        ("NUL bytes", _plain(nid(), "a\x00b\x00c"), "stored"),
        (
            "8-bit header",
            _headers(nid()).encode() + "Subject: café ünïcödé\r\n\r\nx\r\n".encode(),
            "stored",
        ),
        (
            "multipart without boundary",
            (_headers(nid(), "Content-Type: multipart/mixed\r\n") + "\r\nbody\r\n").encode(),
            # Stored; its text is not pinned: "body" becomes a file (attachment-1.bin) and the
            # text "(attachments only)", where best-effort text would be "body".
            "stored",
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
            "stored",
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
            "stored",
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
            "refused",  # one line of 100,000 octets
        ),
        ("message/rfc822 chain", None, "quarantined"),
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
    # What is malformed degrades to best-effort text: undecodable base64 as it came, an
    # unknown transfer encoding as if none.
    texts = {"invalid base64": "!!!not base64@@@", "unknown transfer encoding": "body"}
    reasons = {"message/rfc822 chain": "MIME nesting deeper than 10"}
    for name, given, expect in broken:
        if given is None:
            i = nid()
            inner = "From: a@example.com\r\nSubject: inner\r\n\r\ninner body\r\n"
            for _ in range(30):
                inner = f"Content-Type: message/rfc822\r\n\r\n{inner}"
            given = (_headers(i) + inner).encode()
        yield Case(name, given, expect, text=texts.get(name), reason=reasons.get(name))
