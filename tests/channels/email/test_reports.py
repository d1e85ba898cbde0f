"""Delivery status notifications are recognised in the common formats and name their message."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest

from channels.email.parsing import parse
from tests.channels.email import samples


@pytest.mark.parametrize("headers_only", [True, False])
def test_rfc3464_failed(headers_only: bool) -> None:
    mail = parse(samples.rfc3464("sb-1.t@demo", headers_only=headers_only), "<>")
    report = mail.report
    assert report is not None
    assert (report.action, report.kind, report.original_message_id) == (
        "failed",
        "rfc3464",
        "sb-1.t@demo",
    )
    assert report.status == "5.1.1"
    assert report.recipient == "gone@example.com"
    assert "Recipient address rejected" in (report.diagnostic or "")
    assert mail.automated is None  # a report is not a conversation message at all


def test_rfc3464_delayed_and_delivered() -> None:
    delayed = parse(samples.rfc3464("a@b", action="delayed", status="4.4.7"), "<>").report
    assert delayed is not None
    assert delayed.action == "delayed"
    relayed = parse(samples.rfc3464("a@b", action="relayed", status="2.0.0"), "<>").report
    assert relayed is not None
    assert relayed.action == "delivered"


def test_free_text_bounces() -> None:
    exim = parse(samples.exim_bounce("sb-2.t@demo"), "<>").report
    assert exim is not None
    assert (exim.action, exim.kind, exim.original_message_id) == ("failed", "bounce", "sb-2.t@demo")
    assert exim.recipient == "gone@example.org"
    assert exim.status == "5.1.1"
    qmail = parse(samples.qmail_bounce("sb-3.t@demo"), "<>").report
    assert qmail is not None
    assert qmail.original_message_id == "sb-3.t@demo"


def test_read_receipt_is_a_report() -> None:
    report = parse(samples.read_receipt("sb-4.t@demo"), "ada@example.com").report
    assert report is not None
    assert report.kind == "disposition"
    assert report.original_message_id == "sb-4.t@demo"


def test_samples_are_well_formed() -> None:
    msg = BytesParser(policy=policy.default).parsebytes(samples.rfc3464("x@y"))
    assert msg.get_content_type() == "multipart/report"
