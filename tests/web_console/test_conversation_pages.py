"""The conversation list pages through every conversation with a cursor: none cut, none
twice."""

from __future__ import annotations

import asyncio

from server.services import demo
from tests.harness import RunningServer
from tests.web_console.brands import conversation_in, person, signed_in


async def test_the_list_pages_through_every_conversation(server: RunningServer) -> None:
    made = set()
    for batch in range(5):
        found = await asyncio.gather(
            *(
                conversation_in(server, demo.WEBCHAT_INBOX, f"question {batch}-{n}")
                for n in range(45)
            )
        )
        made |= {b.conversation_id for b in found}
    sam = await signed_in(server, await person(server, demo.BRAND_SLUG, "supervisor"))
    seen: list[str] = []
    params: dict[str, str] = {}
    while True:
        page = (await sam.get("/console/api/conversations", params=params)).json()
        seen += [c["id"] for c in page["conversations"]]
        if page["next_before"] is None:
            break
        params = {"before": page["next_before"]}
    assert len(seen) == len(set(seen))
    assert set(seen) == made
    assert len(made) == 225
    bad = await sam.get("/console/api/conversations", params={"before": "yesterday~x"})
    assert bad.status_code == 422
    await sam.aclose()
