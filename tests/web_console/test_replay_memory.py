"""What a node keeps of its recent events for the consoles' replays is bounded in bytes as
well as in events, keeps no frame too large to be worth it, and is let go once the node has
had no console for a while (the review: 10,000 mail frames held about 1 GB, for good)."""

from __future__ import annotations

import time
from typing import Any, cast

import pytest

from web_console import hub as hub_module
from web_console.hub import ConsoleHub


def _event(event_id: int, text: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "conversation_id": f"c{event_id}",
        "name": "message.created",
        "data": {"message": {"id": event_id, "text": text}},
    }


def _hub() -> Any:
    hub: Any = ConsoleHub(cast(Any, None), cast(Any, None), origins=frozenset())
    hub._last_left = time.monotonic()  # a console just went: its events are kept
    return hub


def test_a_frame_too_large_is_not_kept_and_the_bytes_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub_module, "RECENT_BYTES", 3_000)
    hub = _hub()
    hub.broadcast(_event(1, "a" * 100_000))  # a long mail: read from the log if replayed
    assert 1 not in hub._recent
    for event_id in range(2, 12):
        hub.broadcast(_event(event_id, "b" * 500))
    kept = sorted(hub._recent)
    assert kept[-1] == 11
    assert len(kept) < 10  # the oldest went to keep under the bytes
    assert hub._recent_bytes <= 3_000


def test_with_no_console_for_a_while_the_kept_frames_go() -> None:
    hub = _hub()
    hub.broadcast(_event(1, "hello"))
    assert 1 in hub._recent
    hub._last_left = time.monotonic() - hub_module.RECENT_SECONDS - 1
    hub.broadcast(_event(2, "later"))
    assert hub._recent == {}
    assert hub._recent_bytes == 0
