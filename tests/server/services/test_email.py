"""The email channel end to end: a customer's client (smtplib) → our SMTP → the console → the
agent's reply through a real relay (aiosmtpd) → the customer's answer back in the thread."""

from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.services import demo
from tests import harness, mail
from tests.channels.email import samples
from tests.channels.webchat_client import new_session, vouched

INBOX = demo.EMAIL_INBOX


class Desk:
    """A running server with a relay behind it and a logged-in agent in front."""

    def __init__(self, running: harness.RunningServer, relay: mail.Relay, http: httpx.AsyncClient):
        self.running = running
        self.relay = relay
        self.http = http
        smtp = running.services.smtp
        assert smtp is not None
        self.port = smtp.port

    async def receive(
        self,
        message: EmailMessage | bytes,
        sender: str = "ada@example.com",
        rcpts: list[str] | None = None,
    ) -> None:
        await mail.send(self.port, message, sender, rcpts)
        await self.settled()

    async def settled(self) -> None:
        await self.running.services.mailroom.settled()
        await self.running.services.pipeline.settled()

    async def outbox_drained(self) -> None:
        """Every delivery written so far has been attempted (none pending)."""

        async def drained() -> bool:
            pending = await self.sql("SELECT 1 FROM deliveries WHERE status = 'pending'")
            return not pending

        await harness.until(drained)

    async def sql(self, query: str, *args: Any) -> list[Any]:
        return list(await self.running.services.pool.fetch(query, *args))

    async def conversations(self) -> list[dict[str, Any]]:
        response = await self.http.get("/console/api/conversations")
        assert response.status_code == 200
        return [c for c in response.json()["conversations"] if c["channel"] == "email"]

    async def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        response = await self.http.get(f"/console/api/conversations/{conversation_id}/messages")
        assert response.status_code == 200
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    async def reply(self, conversation_id: str, text: str, client_id: str = "r1") -> dict[str, Any]:
        response = await self.http.post(
            f"/console/api/conversations/{conversation_id}/messages",
            json={"text": text, "client_id": client_id},
        )
        assert response.status_code in (200, 201), response.text
        message: dict[str, Any] = response.json()["message"]
        return message

    async def delivery(self, message_id: int, status: str) -> dict[str, Any]:
        async def reached() -> bool:
            rows = await self.sql("SELECT status FROM deliveries WHERE message_id = $1", message_id)
            return bool(rows) and rows[0]["status"] == status

        await harness.until(reached, 20)
        rows = await self.sql("SELECT * FROM deliveries WHERE message_id = $1", message_id)
        return dict(rows[0])


@pytest.fixture
async def desk(dsn: str, tmp_path: Path) -> AsyncIterator[Desk]:
    async with mail.relay() as relay:
        settings = harness.settings_for(
            dsn, tmp_path, smtp_relay_url=relay.url, delivery_retry_seconds=0.2
        )
        async with (
            harness.run_server(settings) as running,
            httpx.AsyncClient(base_url=running.base_url) as http,
        ):
            login = {"email": demo.AGENT_EMAIL, "password": demo.AGENT_PASSWORD}
            assert (await http.post("/console/api/login", json=login)).status_code == 200
            yield Desk(running, relay, http)


async def test_a_mail_becomes_a_conversation_and_is_acknowledged_in_its_thread(desk: Desk) -> None:
    msg = mail.mail(message_id="first@example.com", sender="Ada Lovelace <ada@example.com>")
    body = "My parcel is late.\n\n-- \nAda\n\nOn Sun, Support wrote:\n> old text\n"
    msg.set_content(body)
    msg.add_attachment(
        b"%PDF-1.4 invoice", maintype="application", subtype="pdf", filename="../../invoice.pdf"
    )
    await desk.receive(msg)

    [conversation] = await desk.conversations()
    assert conversation["subject"] == "Where is my parcel?"
    assert conversation["status"] == "queued"
    assert conversation["contact"]["email"] == "ada@example.com"
    first = (await desk.messages(conversation["id"]))[0]
    assert first["text"] == "My parcel is late."  # quoted history and signature cut
    assert first["subject"] == "Where is my parcel?"
    assert first["original"]
    assert first["attachments"] == [
        {"n": 0, "filename": "invoice.pdf", "content_type": "application/pdf", "size": 16}
    ]
    download = await desk.http.get(f"/console/api/messages/{first['id']}/attachments/0")
    assert download.status_code == 200
    assert download.content == b"%PDF-1.4 invoice"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["content-type"] == "application/octet-stream"
    original = await desk.http.get(f"/console/api/messages/{first['id']}/original")
    assert b"> old text" in original.content
    assert b"Message-ID: <first@example.com>" in original.content
    for bad in (
        "/console/api/messages/99999/attachments/0",
        "/console/api/messages/99999999999999999999/original",
    ):
        assert (await desk.http.get(bad)).status_code == 404

    [ack] = await desk.relay.wait_for(1)
    assert ack["To"] == "Ada Lovelace <ada@example.com>"
    assert ack["In-Reply-To"] == "<first@example.com>"
    assert ack["References"] == "<first@example.com>"
    assert ack["Subject"] == "Re: Where is my parcel?"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["Reply-To"].startswith("support+")
    assert ack["Reply-To"].endswith("@demo.switchboard.test")
    assert desk.relay.envelopes[0] == (INBOX, ["ada@example.com"])
    system = (await desk.messages(conversation["id"]))[1]
    await desk.delivery(system["id"], "sent")
    assert (await desk.messages(conversation["id"]))[1]["delivery"]["status"] == "sent"


# How common clients answer: which threading headers they keep, what they do to the subject,
# and where they send the reply.
CLIENT_STYLES: dict[str, dict[str, Any]] = {
    "gmail": {"subject": "Re: Where is my parcel?", "in_reply_to": True, "references": True},
    "outlook": {
        "subject": "RE: Where is my parcel?",
        "in_reply_to": True,
        "references": False,
        "extra": {"Thread-Index": "AQHZabc=", "Thread-Topic": "Where is my parcel?"},
    },
    "apple mail": {"subject": "Re: Where is my parcel?", "in_reply_to": False, "references": True},
    "german outlook, plain address": {
        "subject": "AW: Where is my parcel?",
        "in_reply_to": True,
        "references": False,
        "to_plain": True,
    },
    "client that drops every header": {
        "subject": "parcel?? still waiting",
        "in_reply_to": False,
        "references": False,
    },
}


@pytest.mark.parametrize("style", CLIENT_STYLES)
async def test_replies_from_common_clients_join_the_conversation(desk: Desk, style: str) -> None:
    await desk.receive(mail.mail(message_id="q1@example.com"))
    [conversation] = await desk.conversations()
    agent = await desk.reply(conversation["id"], "It left our warehouse today.")
    await desk.relay.wait_for(2)  # the acknowledgement and the agent's reply
    sent = desk.relay.received[-1]
    assert sent["Auto-Submitted"] is None  # a person wrote this one
    assert sent["In-Reply-To"] == "<q1@example.com>"
    our_id = sent["Message-ID"]
    refs = sent["References"]
    assert refs.startswith("<q1@example.com>")
    assert "sb-" in refs
    await desk.delivery(agent["id"], "sent")

    how = CLIENT_STYLES[style]
    answer = mail.mail(
        subject=how["subject"],
        body="Thanks!",
        message_id=f"a-{len(style)}@example.com",
        to=sent["Reply-To"],
        **how.get("extra", {}),
    )
    if how["in_reply_to"]:
        answer["In-Reply-To"] = our_id
    if how["references"]:
        answer["References"] = f"{refs} {our_id}"
    rcpt = INBOX if how.get("to_plain") else sent["Reply-To"]
    await desk.receive(answer, rcpts=[rcpt])

    conversations = await desk.conversations()
    if style == "client that drops every header":
        # Only the plus address carries the thread; that is what Reply-To is for.
        assert rcpt == sent["Reply-To"]
    assert [c["id"] for c in conversations] == [conversation["id"]], style
    texts = [m["text"] for m in await desk.messages(conversation["id"])]
    assert texts[-1] == "Thanks!"


async def test_an_agents_files_go_out_as_mail_attachments(desk: Desk) -> None:
    await desk.receive(mail.mail(message_id="f1@example.com", subject="Invoice copy"))
    [conversation] = await desk.conversations()
    invoice = b"%PDF-1.4 invoice 10234"
    response = await desk.http.post(
        f"/console/api/conversations/{conversation['id']}/messages",
        data={"text": "Attached is your invoice.", "client_id": "files-1"},
        files=[
            ("files", ("invoice 10234.pdf", invoice, "application/pdf")),
            ("files", ("notes.txt", "Grüße".encode(), "text/plain")),
        ],
    )
    assert response.status_code == 201, response.text
    await desk.relay.wait_for(2)  # the acknowledgement and the reply with its files
    sent = desk.relay.received[-1]
    assert sent.get_content_type() == "multipart/mixed"
    body = sent.get_body(("plain",))
    assert body is not None
    assert "Attached is your invoice." in body.get_content()
    # The bytes as uploaded (base64 in transit), whatever their type.
    files = [
        (p.get_filename(), p.get_content_type(), p.get_payload(decode=True))
        for p in sent.iter_attachments()
    ]
    assert files == [
        ("invoice 10234.pdf", "application/pdf", invoice),
        ("notes.txt", "text/plain", "Grüße".encode()),
    ]
    await desk.delivery(response.json()["message"]["id"], "sent")


async def test_a_forged_in_reply_to_or_token_cannot_enter_someone_elses_conversation(
    desk: Desk,
) -> None:
    await desk.receive(mail.mail(message_id="victim@example.com"))
    [victim] = await desk.conversations()
    await desk.relay.wait_for(1)
    ack = desk.relay.received[0]

    forged = mail.mail(
        sender="mallory@example.net",
        subject="Re: Where is my parcel?",
        message_id="forged@example.net",
        body="Please send me Ada's invoice.",
        In_Reply_To="<victim@example.com>",
        References=ack["Message-ID"],
    )
    await desk.receive(forged, sender="mallory@example.net", rcpts=[ack["Reply-To"]])

    conversations = await desk.conversations()
    assert len(conversations) == 2
    mallory = next(c for c in conversations if c["id"] != victim["id"])
    assert mallory["contact"]["email"] == "mallory@example.net"
    assert [
        m["text"] for m in await desk.messages(victim["id"]) if m["author_kind"] == "customer"
    ] == ["Hello, my parcel has not arrived yet. Can you help?"]


async def test_concurrent_deliveries_of_one_message_store_one_row(desk: Desk) -> None:
    msg = mail.mail(message_id="dup@example.com")
    await asyncio.gather(*(mail.send(desk.port, msg) for _ in range(50)))
    await desk.settled()
    rows = await desk.sql("SELECT count(*) AS n FROM messages WHERE author_kind = 'customer'")
    assert rows[0]["n"] == 1
    states = await desk.sql("SELECT state, count(*) AS n FROM mail_receipts GROUP BY state")
    assert {r["state"]: r["n"] for r in states} == {"stored": 1, "duplicate": 49}
    await desk.relay.wait_for(1)
    # One acknowledgement was written, not fifty, and the outbox has nothing left to send.
    outgoing = await desk.sql("SELECT count(*) AS n FROM messages WHERE direction = 'out'")
    assert outgoing[0]["n"] == 1
    await desk.outbox_drained()
    assert len(desk.relay.received) == 1


async def test_a_receipt_processed_again_after_its_settling_was_lost_is_stored_once(
    desk: Desk,
) -> None:
    """A receipt's settling is not waited for (a crash may lose it): processed again, the
    receipt finds its own message, stores nothing more, and is 'stored', not 'duplicate'."""
    assert await mail.send(desk.port, mail.mail(message_id="again@example.com")) == {}
    await desk.settled()
    [receipt] = await desk.sql("SELECT id, state FROM mail_receipts")
    assert receipt["state"] == "stored"
    await desk.sql(
        "UPDATE mail_receipts SET state = 'received', claimed_until = NULL WHERE id = $1",
        receipt["id"],
    )
    desk.running.services.mailroom.process_soon(receipt["id"])
    await desk.settled()
    states = await desk.sql("SELECT state FROM mail_receipts")
    assert [r["state"] for r in states] == ["stored"]
    rows = await desk.sql("SELECT count(*) AS n FROM messages WHERE author_kind = 'customer'")
    assert rows[0]["n"] == 1


@pytest.mark.parametrize("kind", samples.AUTO_REPLIES)
async def test_automated_mail_is_stored_but_never_answered(desk: Desk, kind: str) -> None:
    headers = dict(samples.AUTO_REPLIES[kind])
    subject = headers.pop("Subject")
    await desk.receive(
        mail.mail(
            subject=subject,
            message_id=f"auto-{len(kind)}@example.com",
            **{k.replace("-", "_"): v for k, v in headers.items()},
        )
    )
    [conversation] = await desk.conversations()
    assert conversation["status"] == "queued"
    assert conversation["handoff_reason"] == "automated_sender"
    [message] = await desk.messages(conversation["id"])
    assert message["automated"]
    # Routing is done (desk.receive settles it) and wrote nothing to send.
    assert await desk.sql("SELECT id FROM messages WHERE direction = 'out'") == []
    await desk.outbox_drained()
    assert desk.relay.received == []


async def test_null_sender_mail_is_not_answered(desk: Desk) -> None:
    await desk.receive(mail.mail(message_id="null@example.com"), sender="<>")
    [conversation] = await desk.conversations()
    assert conversation["handoff_reason"] == "automated_sender"
    assert await desk.sql("SELECT id FROM messages WHERE direction = 'out'") == []
    await desk.outbox_drained()
    assert desk.relay.received == []


async def test_a_second_acknowledgement_within_the_window_is_suppressed(desk: Desk) -> None:
    await desk.receive(mail.mail(message_id="w1@example.com"))
    [conversation] = await desk.conversations()
    [ack] = await desk.relay.wait_for(1)
    resolved = await desk.http.post(f"/console/api/conversations/{conversation['id']}/resolve")
    assert resolved.status_code == 200
    await desk.receive(
        mail.mail(
            subject="Re: Where is my parcel?",
            message_id="w2@example.com",
            body="One more thing.",
            In_Reply_To=ack["Message-ID"],
        )
    )
    [reopened] = await desk.conversations()
    assert reopened["id"] == conversation["id"]
    assert reopened["status"] == "queued"
    # The system's messages: the acknowledgement, the rating question sent on resolve
    # (server/pipeline/survey.py), and the second acknowledgement, suppressed.
    notices = [m for m in await desk.messages(conversation["id"]) if m["author_kind"] == "system"]
    assert len(notices) == 3
    assert "How did we do?" in notices[1]["text"]
    delivery = await desk.delivery(notices[2]["id"], "suppressed")
    assert "acknowledged" in delivery["detail"]
    [_, survey] = await desk.relay.wait_for(2)
    body = survey.get_body()
    assert body is not None
    assert "How did we do?" in body.get_content()
    assert len(desk.relay.received) == 2


@pytest.mark.parametrize(
    "report",
    [
        lambda mid: samples.rfc3464(mid),
        lambda mid: samples.rfc3464(mid, headers_only=False),
        lambda mid: samples.exim_bounce(mid),
        lambda mid: samples.qmail_bounce(mid),
    ],
    ids=["postfix", "gmail", "exim", "qmail"],
)
async def test_a_bounce_is_attached_to_the_reply_it_reports_on(desk: Desk, report: Any) -> None:
    await desk.receive(mail.mail(message_id="b1@example.com"))
    [conversation] = await desk.conversations()
    agent = await desk.reply(conversation["id"], "Here is your answer.")
    delivery = await desk.delivery(agent["id"], "sent")
    await desk.receive(report(delivery["external_id"]), sender="<>")

    delivery = await desk.delivery(agent["id"], "bounced")
    assert "failed" in delivery["detail"]
    assert [c["id"] for c in await desk.conversations()] == [conversation["id"]]
    shown = [m for m in await desk.messages(conversation["id"]) if m["id"] == agent["id"]]
    assert shown[0]["delivery"]["status"] == "bounced"
    receipts = await desk.sql("SELECT state FROM mail_receipts ORDER BY id")
    assert [r["state"] for r in receipts] == ["stored", "report"]


async def test_a_report_on_an_unknown_message_opens_nothing(desk: Desk) -> None:
    await desk.receive(samples.rfc3464("never-sent@elsewhere"), sender="<>")
    assert await desk.conversations() == []
    [receipt] = await desk.sql("SELECT state, reason FROM mail_receipts")
    assert receipt["state"] == "report"
    assert "names no message of ours" in receipt["reason"]


async def test_temporary_relay_failures_are_retried_and_permanent_ones_shown(desk: Desk) -> None:
    answers = iter(["451 4.3.0 try later", "451 4.3.0 try later", "250 OK"])
    desk.relay.answer = lambda _: next(answers, "250 OK")
    await desk.receive(mail.mail(message_id="r1@example.com"))
    [conversation] = await desk.conversations()
    notice = (await desk.messages(conversation["id"]))[1]
    delivery = await desk.delivery(notice["id"], "sent")
    assert delivery["attempts"] == 3

    desk.relay.answer = lambda _: "550 5.1.1 mailbox unavailable"
    agent = await desk.reply(conversation["id"], "Answer that cannot arrive.")
    failed = await desk.delivery(agent["id"], "failed")
    assert failed["attempts"] == 1
    assert "550" in failed["detail"]
    shown = [m for m in await desk.messages(conversation["id"]) if m["id"] == agent["id"]]
    assert shown[0]["delivery"] == {"status": "failed", "detail": failed["detail"]}


async def test_the_same_address_by_mail_and_web_chat_is_one_contact(desk: Desk) -> None:
    """When the embedding site vouches for the address (identifier_hash); an address a visitor
    only types is kept apart (tests/channels/test_webchat_identity.py)."""
    await desk.receive(
        mail.mail(message_id="c1@example.com", sender="grace@example.com"),
        sender="grace@example.com",
    )
    secret = await harness.identity_secret(desk.running)
    await new_session(desk.running.base_url, name="Grace", **vouched("Grace@Example.com", secret))
    contacts = await desk.sql(
        "SELECT count(*) AS n FROM contacts WHERE lower(email) = 'grace@example.com'"
    )
    identities = await desk.sql(
        "SELECT channel FROM contact_identities i JOIN contacts c ON c.id = i.contact_id"
        " WHERE lower(c.email) = 'grace@example.com' ORDER BY channel"
    )
    assert contacts[0]["n"] == 1
    # The mail address, the widget visitor and the shop's user it was verified as.
    assert [r["channel"] for r in identities] == ["email", "webchat", "webchat-user"]


async def test_html_mail_is_shown_as_text(desk: Desk) -> None:
    msg = mail.mail(message_id="h1@example.com")
    msg.set_content(
        "<p>Hi <b>team</b></p><script>steal()</script><img src=x onerror=alert(1)>", subtype="html"
    )
    await desk.receive(msg)
    [conversation] = await desk.conversations()
    [message] = [
        m for m in await desk.messages(conversation["id"]) if m["author_kind"] == "customer"
    ]
    assert message["text"] == "Hi team"


def _smtp_exchange(port: int, lines: list[bytes]) -> list[str]:
    """Speak raw SMTP; returns the server's reply to each line (after its greeting)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")

        def reply() -> str:
            out = []
            while True:
                line = reader.readline().decode()
                out.append(line.strip())
                if len(line) < 4 or line[3] != "-":
                    return "\n".join(out)

        reply()  # greeting
        answers = []
        for line in lines:
            sock.sendall(line)
            answers.append(reply())
        return answers


async def test_the_smtp_boundary_refuses_precisely(desk: Desk) -> None:
    answers = await asyncio.to_thread(
        _smtp_exchange,
        desk.port,
        [
            b"EHLO client.example.com\r\n",
            b"FROB nonsense\r\n",
            b"MAIL FROM:<ada@example.com> SIZE=999999999\r\n",
            b"MAIL FROM:<ada@example.com>\r\n",
            b"RCPT TO:<nobody@demo.switchboard.test>\r\n",
            b"RCPT TO:<support@elsewhere.example>\r\n",
            b"RCPT TO:<support+anything@demo.switchboard.test>\r\n",
            b"DATA\r\n",
            b"Subject: x\r\n\r\n" + b"y" * 2000 + b"\r\n.\r\n",
            b"QUIT\r\n",
        ],
    )
    assert answers[0].startswith("250")
    assert "SIZE 10485760" in answers[0]
    assert answers[1].startswith("500")
    assert answers[2].startswith("552")
    assert answers[3].startswith("250")
    assert answers[4].startswith("550")
    assert answers[5].startswith("550")
    assert answers[6].startswith("250")
    assert answers[7].startswith("354")
    assert answers[8].startswith("500")
    assert "Line too long" in answers[8]
    assert await desk.sql("SELECT id FROM mail_receipts") == []  # nothing half-stored


async def test_recipients_past_the_cap_are_refused_452(desk: Desk) -> None:
    lines = [b"EHLO c\r\n", b"MAIL FROM:<ada@example.com>\r\n"]
    lines += [f"RCPT TO:<support+{n}@demo.switchboard.test>\r\n".encode() for n in range(101)]
    answers = await asyncio.to_thread(_smtp_exchange, desk.port, lines)
    assert all(a.startswith("250") for a in answers[2:102])
    assert answers[102].startswith("452")


async def test_messages_over_the_size_limit_are_refused_552(dsn: str, tmp_path: Path) -> None:
    settings = harness.settings_for(dsn, tmp_path, smtp_max_message_bytes=4096)
    async with harness.run_server(settings) as running:
        assert running.services.smtp is not None
        port = running.services.smtp.port
        # smtplib announces the size (MAIL FROM ... SIZE=): refused before any data is sent.
        with pytest.raises(smtplib.SMTPResponseException) as refused:
            await mail.send(port, mail.mail(body=("z" * 60 + "\n") * 100))
        assert refused.value.smtp_code == 552
        # A client that does not announce it is refused at the end of DATA.
        answers = await asyncio.to_thread(
            _smtp_exchange,
            port,
            [
                b"EHLO c\r\n",
                b"MAIL FROM:<ada@example.com>\r\n",
                b"RCPT TO:<support@demo.switchboard.test>\r\n",
                b"DATA\r\n",
                b"Subject: big\r\n\r\n" + (b"z" * 60 + b"\r\n") * 100 + b".\r\n",
            ],
        )
        assert answers[-1].startswith("552")
        assert await running.services.pool.fetch("SELECT id FROM mail_receipts") == []


async def test_connections_past_the_per_address_cap_are_refused_421(
    dsn: str, tmp_path: Path
) -> None:
    settings = harness.settings_for(dsn, tmp_path, smtp_max_connections_per_ip=3)
    async with harness.run_server(settings) as running:
        assert running.services.smtp is not None
        port = running.services.smtp.port
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        try:
            for reader, _ in held:
                assert (await reader.readline()).startswith(b"220")
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert (await reader.readline()).startswith(b"421")
            writer.close()
        finally:
            for _, w in held:
                w.close()
        # The server frees a slot when it sees the close: wait for that, then send.
        await harness.until(lambda: _greeted(port))
        refused = await mail.send(port, mail.mail(message_id="after@example.com"))
        assert refused == {}  # the slots are free again


async def test_unparseable_mail_is_quarantined_visible_and_retryable(desk: Desk) -> None:
    token = desk.running.services.settings.admin_api_token()
    await desk.receive(
        b"To: support@demo.switchboard.test\r\nSubject: no sender\r\n\r\nhi\r\n", sender="<>"
    )
    async with httpx.AsyncClient(
        base_url=desk.running.base_url, headers={"authorization": f"Bearer {token}"}
    ) as admin:
        listed = (await admin.get("/api/admin/mail", params={"state": "quarantined"})).json()[
            "mail"
        ]
        assert len(listed) == 1
        assert "no sender" in listed[0]["reason"]
        raw = await admin.get(f"/api/admin/mail/{listed[0]['id']}/raw")
        assert raw.status_code == 200
        assert raw.content.endswith(b"hi\r\n")
        retried = await admin.post(f"/api/admin/mail/{listed[0]['id']}/retry")
        assert retried.status_code == 202
        await desk.settled()
        again = (await admin.get("/api/admin/mail", params={"state": "quarantined"})).json()["mail"]
        assert [m["id"] for m in again] == [listed[0]["id"]]  # still unparseable, still visible
        assert (await admin.get("/api/admin/mail", params={"state": "lost"})).status_code == 422
        assert (await admin.post("/api/admin/mail/999/retry")).status_code == 404
        assert (await admin.get("/api/admin/mail/999/raw")).status_code == 404
    assert await desk.conversations() == []


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "smtp.crt", tmp / "smtp.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _send_over_tls(port: int, login: tuple[str, str] | None) -> dict[str, Any]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        client.starttls(context=ssl._create_unverified_context())  # a self-signed test cert
        client.ehlo()
        if login is not None:
            client.login(*login)
        msg = mail.mail(message_id=f"tls-{login is not None}@example.com")
        return client.sendmail("ada@example.com", [INBOX], msg.as_bytes())


async def test_starttls_and_auth_when_configured(dsn: str, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    settings = harness.settings_for(
        dsn,
        tmp_path,
        smtp_tls_cert=cert,
        smtp_tls_key=key,
        smtp_require_tls=True,
        smtp_auth="relay-user:s3cret-pass",
    )
    async with harness.run_server(settings) as running:
        assert running.services.smtp is not None
        port = running.services.smtp.port
        answers = await asyncio.to_thread(
            _smtp_exchange, port, [b"EHLO c\r\n", b"MAIL FROM:<ada@example.com>\r\n"]
        )
        assert "STARTTLS" in answers[0]
        assert answers[1].startswith("530")  # nothing before STARTTLS
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            await asyncio.to_thread(_send_over_tls, port, None)
        assert refused.value.smtp_code == 530  # TLS, but no AUTH
        with pytest.raises(smtplib.SMTPAuthenticationError):
            await asyncio.to_thread(_send_over_tls, port, ("relay-user", "wrong"))
        assert await asyncio.to_thread(_send_over_tls, port, ("relay-user", "s3cret-pass")) == {}
        await running.services.mailroom.settled()
        states = await running.services.pool.fetch("SELECT state FROM mail_receipts")
        assert [r["state"] for r in states] == ["stored"]


async def _greeted(port: int) -> bool:
    """Whether a new session gets the 220 greeting (a free slot) rather than 421."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return (await reader.readline()).startswith(b"220")
    finally:
        writer.close()


async def test_a_number_mailed_back_rates_the_resolved_conversation(desk: Desk) -> None:
    await desk.receive(mail.mail(message_id="r1@example.com"))
    [conversation] = await desk.conversations()
    await desk.relay.wait_for(1)
    resolved = await desk.http.post(f"/console/api/conversations/{conversation['id']}/resolve")
    assert resolved.status_code == 200
    [_, survey] = await desk.relay.wait_for(2)
    await desk.receive(
        mail.mail(
            subject="Re: Where is my parcel?",
            message_id="r2@example.com",
            body="5 thank you!\n\nOn Monday, Demo Shop wrote:\n> How did we do?\n",
            In_Reply_To=survey["Message-ID"],
        )
    )
    async with desk.running.services.pool.acquire() as conn:
        rating = await conn.fetchrow(
            "SELECT rating, comment FROM csat WHERE conversation_id = $1::uuid",
            conversation["id"],
        )
        status = await conn.fetchval(
            "SELECT status FROM conversations WHERE id = $1::uuid", conversation["id"]
        )
    assert rating is not None
    assert rating["rating"] == 5
    assert rating["comment"].startswith("thank you!")
    assert status == "resolved"  # answered, not reopened


@pytest.mark.parametrize("failing", ["hand_over_opened", "understand_first"])
async def test_a_first_mail_whose_routing_fails_as_it_is_stored_is_kept_and_routed_after(
    desk: Desk, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """A first mail is routed in the transaction that stores it (issue 14); should that
    routing fail (a row refused, a bug), the mail is still stored, and routed after the
    commit as any other message is."""
    calls: list[str] = []

    async def refused(*args: Any, **kwargs: Any) -> Any:
        calls.append(failing)
        raise RuntimeError(f"{failing} refused")

    monkeypatch.setattr(desk.running.services.pipeline._decider, failing, refused)
    await desk.receive(mail.mail(message_id="routing-fails@example.com"))
    assert calls == [failing]
    [conversation] = await desk.conversations()
    assert conversation["status"] == "queued"  # routed after the commit
    [first, *_] = await desk.messages(conversation["id"])
    assert first["author_kind"] == "customer"


async def test_a_mails_path_to_the_console_is_timed_stage_by_stage_on_metrics(
    desk: Desk,
) -> None:
    """/metrics says where a mail's time went (bench/mail.py reads it): each stage from the
    raw mail's commit to the console once, the grouped transaction once for its batch."""
    await desk.receive(mail.mail(message_id="timed@example.com"))
    body = (await desk.http.get("/metrics")).text
    stages = ("receipt", "queued", "parse", "understand", "store", "batch", "publish")
    for stage in (*stages, "console"):
        count = f'switchboard_stage_seconds_count{{channel="email",stage="{stage}"}} 1.0'
        assert count in body, stage
