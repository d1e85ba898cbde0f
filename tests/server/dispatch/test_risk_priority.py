"""A handoff's reason in the queue's priority, against a real server: a safety incident is
urgent on the first message, and one the customer reports while waiting lifts the waiting
conversation (issue 17)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from tests import harness
from tests.harness import RunningServer, customer

ANNA = "anna@example.com"


async def standing(server: RunningServer, conversation_id: str) -> dict[str, Any]:
    row = await server.services.pool.fetchrow(
        "SELECT status, handoff_reason, band, priority_parts FROM conversations WHERE id = $1",
        UUID(conversation_id),
    )
    assert row is not None
    return dict(row)


async def test_a_safety_incident_is_urgent_from_the_first_message(dsn: str, tmp_path: Path) -> None:
    settings = harness.settings_for(
        dsn, tmp_path, nlu_engine="embedded", nlu_cache_dir=tmp_path / "nlu"
    )
    async with harness.run_server(settings) as server:
        conversation = await customer(
            server, "The charger caught fire next to my son's bed last night", email=ANNA
        )
        seen = await standing(server, conversation)
    assert (seen["status"], seen["handoff_reason"], seen["band"]) == ("queued", "safety", "urgent")
    labels = [part["label"] for part in seen["priority_parts"]]
    assert "safety incident (urgent)" in labels


async def test_a_risk_reported_while_waiting_lifts_the_priority(server: RunningServer) -> None:
    # The bot is off here: every conversation is handed over with reason no_bot.
    conversation = await customer(server, "my parcel is a week late", email=ANNA)
    before = await standing(server, conversation)
    assert (before["handoff_reason"], before["band"]) == ("no_bot", "low")
    again = await customer(server, "and now the charger you sent is smoking!", email=ANNA)
    assert again == conversation
    after = await standing(server, conversation)
    # The reason shown stays the one it was handed over for; the priority follows the risk.
    assert (after["handoff_reason"], after["band"]) == ("no_bot", "urgent")
