"""GET /console/api/queue?limit=N: the top of the ranked queue for the console's first paint,
with the number the agent may see in all (never another brand's); a bad limit is a 422."""

from __future__ import annotations

from server.services import demo
from tests.harness import RunningServer, customer
from tests.web_console.brands import conversation_in
from tests.web_console.test_queue_events import demo_agent

LEA = "lea@demo.switchboard.test"


async def test_the_top_of_the_queue_comes_with_the_count_of_the_whole(
    server: RunningServer,
) -> None:
    await demo.seed_other_brand(server.services.pool)
    lea = await demo_agent(server, LEA)
    for n in range(3):
        await customer(server, f"anyone there? ({n})")
    await conversation_in(server, demo.OTHER_WEBCHAT_INBOX, "anyone there?")

    whole = (await lea.get("/console/api/queue")).json()
    ids = [q["id"] for q in whole["queue"]]
    assert len(ids) == 3  # the other brand's conversation is queued too, out of her reach
    assert whole["total"] == 3

    top = (await lea.get("/console/api/queue?limit=2")).json()
    assert [q["id"] for q in top["queue"]] == ids[:2]
    assert top["total"] == 3
    assert top["last_event_id"] >= whole["last_event_id"]
    # Each entry is the conversation's view with its place, as in the whole read.
    assert top["queue"][0]["contact"] == whole["queue"][0]["contact"]
    assert top["queue"][0]["rank"] == whole["queue"][0]["rank"]
    await lea.aclose()


async def test_a_limit_that_is_not_a_page_size_is_refused(server: RunningServer) -> None:
    lea = await demo_agent(server, LEA)
    for raw in ["0", "1001", "-1", "two", "", "1.5", "9" * 5000]:
        response = await lea.get("/console/api/queue", params={"limit": raw})
        assert response.status_code == 422, raw
        assert response.json()["error"] == "limit: an integer from 1 to 1000"
    await lea.aclose()
