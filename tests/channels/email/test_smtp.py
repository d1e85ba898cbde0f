"""The SMTP session parses MAIL and RCPT addresses as aiosmtpd does, by code of its own."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiosmtpd.smtp import SMTP
from hypothesis import given
from hypothesis import strategies as st

from channels.email.smtp import _Session

ARGUMENTS = [
    "",
    "<>",
    "<someone@example.com>",
    "<someone@example.com> SIZE=1000 BODY=8BITMIME",
    "someone@example.com",
    "someone@example.com SIZE=1000",
    '<"quoted local"@example.com>',
    "<@relay.example:someone@example.com>",
    "<someone@[127.0.0.1]>",
    "<unclosed@example.com",
    "<a@b@c>",
    "<>trailing",
    "   <spaced@example.com>",
    "not an address at all",
    "<" + "x" * 80 + "@example.com>",
    "<Ünïcödé@exämple.com> SMTPUTF8",
    # The plain form read by one regular expression, and its neighbours that are not.
    "<first.last+tag@mail.example.com>",
    "<a@b>   ",
    "<a@b>\tSIZE=1",
    "<a@b>SIZE=1",
    "<a@b> SIZE=1 (a comment)",
    '<a@b> "quoted"',
    "<a@b> back\\slash",
    "<a..b@example.com>",
    "<.a@example.com>",
    "<a.@example.com>",
    "<a@example.com.>",
    "<a@-example.com>",
    "<a@exa_mple.com>",
    "<a@example..com>",
    "<(comment)a@example.com>",
    "<a@example.com>>",
    "<<a@example.com>",
    "<" + "y" * 70 + "@example.com> SIZE=5",
]


@pytest.mark.parametrize("limit", [0, 64])
async def test_addresses_read_as_aiosmtpd_reads_them(limit: int) -> None:
    loop = asyncio.get_running_loop()
    ours = _Session(Counter(), 10, object(), loop=loop)
    theirs = SMTP(object(), loop=loop)
    ours.local_part_limit = theirs.local_part_limit = limit
    for arg in ARGUMENTS:
        assert ours._getaddr(arg) == theirs._getaddr(arg), arg


@given(st.text(alphabet='ab.@<>()" \t\\-_+=Z9', max_size=24))
def test_any_argument_reads_as_aiosmtpd_reads_it(arg: str) -> None:
    """Whatever the client sends, the regular expression's answer for the plain form and
    the header parser's for the rest are aiosmtpd's."""
    loop = asyncio.new_event_loop()
    try:
        ours = _Session(Counter(), 10, object(), loop=loop)
        theirs = SMTP(object(), loop=loop)
        for limit in (0, 3):
            ours.local_part_limit = theirs.local_part_limit = limit
            for sent in (arg, f"<{arg}>", f"<{arg}@example.com> {arg}"):
                assert _outcome(ours, sent) == _outcome(theirs, sent)
    finally:
        loop.close()


def _outcome(session: SMTP, arg: str) -> object:
    """What ``_getaddr`` answers, or the exception it raises (aiosmtpd's own parser raises
    IndexError on some arguments; ours must fail the same way there)."""
    try:
        return session._getaddr(arg)
    except Exception as exc:
        return type(exc)
