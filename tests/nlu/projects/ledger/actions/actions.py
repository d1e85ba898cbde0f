"""The ledger bot's own session start (rasa-sdk): the customer's name, as a real bot loads a
profile, before the first message."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # As Rasa's docs write it: the session starts, the profile's slots, then a listen.
        return [SessionStarted(), SlotSet("customer", "Ada"), ActionExecuted("action_listen")]
