"""The public knowledge-base search is limited per client address: past 60 searches a minute
the address gets 429 with Retry-After, and the limiter remembers a bounded number of
addresses."""

from __future__ import annotations

import httpx

from server.http.kb_search import PER_MINUTE, SearchLimits
from tests.harness import RunningServer


async def test_past_the_limit_an_address_gets_429_with_retry_after(server: RunningServer) -> None:
    question = {"q": "where is my parcel", "brand": "no-such-brand"}
    answered = 0
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        # The bucket leaks one search a second, so a slow run may pass a few more than 60
        # before the refusal: never fewer.
        for _ in range(3 * PER_MINUTE):
            refused = await http.get("/api/kb/search", params=question)
            if refused.status_code != 404:
                break
            answered += 1
    assert answered >= PER_MINUTE
    assert refused.status_code == 429
    assert refused.json() == {"error": f"more than {PER_MINUTE} searches a minute"}
    assert int(refused.headers["retry-after"]) >= 1


async def test_the_limiter_forgets_the_oldest_address_past_its_bound() -> None:
    limits = SearchLimits(per_minute=1, max_addresses=2)
    assert await limits.take("a")
    assert not await limits.take("a")
    assert await limits.take("b")
    assert await limits.take("c")  # "a" is forgotten: its next search starts afresh
    assert await limits.take("a")
