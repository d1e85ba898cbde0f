"""Custom actions for the Rasa action server (`rasa run actions`).

They run in Rasa's own Python 3.10 virtualenv, so they reach Switchboard over HTTP:
SWITCHBOARD_URL (default http://127.0.0.1:8000) and SWITCHBOARD_BOT_API_TOKEN. Switchboard's
embedded engine runs its own in-process equivalents of these two actions.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

# The bot must answer quickly or not at all: a slow order system becomes a handoff.
LOOKUP_TIMEOUT_SECONDS = 3.0


def _lookup(number: str, language: str, conversation: str) -> tuple[int, dict[str, Any]]:
    base = os.environ.get("SWITCHBOARD_URL", "http://127.0.0.1:8000").rstrip("/")
    # Switchboard's sender id is the conversation: it scopes the lookup to its brand.
    query = urllib.parse.urlencode({"language": language, "conversation": conversation})
    request = urllib.request.Request(
        f"{base}/api/bot/orders/{urllib.parse.quote(number)}?{query}",
        headers={"Authorization": f"Bearer {os.environ.get('SWITCHBOARD_BOT_API_TOKEN', '')}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=LOOKUP_TIMEOUT_SECONDS) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


class ActionCheckOrderStatus(Action):
    """Tell the customer where their order is, asking for its number first if needed."""

    def name(self) -> str:
        return "action_check_order_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        number = tracker.get_slot("order_number")
        if not number:
            dispatcher.utter_message(response="utter_ask_order_number")
            return []
        number = str(number).lstrip("#")
        language = tracker.get_slot("language") or "en"
        try:
            status, order = await asyncio.to_thread(_lookup, number, language, tracker.sender_id)
        except OSError:
            status, order = 0, {}
        if status == 200:
            dispatcher.utter_message(
                response="utter_order_status",
                order_number=number,
                order_state=order["status_text"],
                order_detail=order["detail_text"],
            )
        elif status == 404:
            dispatcher.utter_message(response="utter_order_not_found", order_number=number)
        else:
            dispatcher.utter_message(response="utter_order_lookup_unavailable", order_number=number)
            dispatcher.utter_message(json_message={"handoff": "order_lookup_failed"})
        return []


class ActionHandoff(Action):
    """Ask Switchboard to bring in a human; Switchboard records the reason."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(json_message={"handoff": "bot_requested"})
        return []
