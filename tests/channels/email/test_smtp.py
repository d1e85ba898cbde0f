"""The SMTP session parses MAIL and RCPT addresses as aiosmtpd does, by code of its own."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from aiosmtpd.smtp import SMTP

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
]


@pytest.mark.parametrize("limit", [0, 64])
async def test_addresses_read_as_aiosmtpd_reads_them(limit: int) -> None:
    loop = asyncio.get_running_loop()
    ours = _Session(Counter(), 10, object(), loop=loop)
    theirs = SMTP(object(), loop=loop)
    ours.local_part_limit = theirs.local_part_limit = limit
    for arg in ARGUMENTS:
        assert ours._getaddr(arg) == theirs._getaddr(arg), arg
