"""RFC 3834: which mail must never get an automatic answer."""

from __future__ import annotations

import pytest

from channels.email.automation import automated_reason


@pytest.mark.parametrize(
    ("headers", "mail_from", "reason"),
    [
        ({}, "ada@example.com", None),
        ({"auto-submitted": "no"}, "ada@example.com", None),
        ({}, "<>", "null envelope sender"),
        ({}, "", "null envelope sender"),
        ({"auto-submitted": "auto-replied"}, "a@example.com", "Auto-Submitted: auto-replied"),
        (
            {"auto-submitted": "auto-generated; owner=x"},
            "a@example.com",
            "Auto-Submitted: auto-generated",
        ),
        ({"precedence": "bulk"}, "a@example.com", "Precedence: bulk"),
        ({"precedence": "list"}, "a@example.com", "Precedence: list"),
        ({"precedence": "junk"}, "a@example.com", "Precedence: junk"),
        ({"x-auto-response-suppress": "All"}, "a@example.com", "X-Auto-Response-Suppress"),
        ({"x-loop": "switchboard"}, "a@example.com", "our own X-Loop"),
        ({"x-autoreply": "yes"}, "a@example.com", "x-autoreply"),
        ({"list-id": "<news.example.com>"}, "a@example.com", "mailing list"),
        ({"subject": "Automatic reply: Order question"}, "a@example.com", "auto-reply subject"),
        ({"subject": "Out of Office: back Monday"}, "a@example.com", "auto-reply subject"),
        ({"subject": "Réponse automatique : absent"}, "a@example.com", "auto-reply subject"),
        ({"subject": "Re: my order"}, "a@example.com", None),
    ],
)
def test_automated_reason(headers: dict[str, str], mail_from: str, reason: str | None) -> None:
    address = "ada@example.com"
    assert automated_reason(headers, mail_from, address) == reason


def test_daemon_senders() -> None:
    assert (
        automated_reason({}, "x@example.com", "mailer-daemon@example.com") == "sender mailer-daemon"
    )
    assert automated_reason({}, "x@example.com", "no-reply@example.com") == "sender no-reply"
