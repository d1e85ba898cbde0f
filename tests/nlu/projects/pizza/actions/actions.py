"""The pizza bot's custom actions, for the rasa-sdk action server: each takes the
conversation back a different way (Restarted, UserUtteranceReverted, ActionReverted)."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionReverted, Restarted, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict


class ShowOrder(Action):
    def name(self) -> str:
        return "action_show_order"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        size = tracker.get_slot("size")
        text = f"Your order: one {size} pizza." if size else "You have not ordered yet."
        dispatcher.utter_message(text=text)
        return []


class StartOver(Action):
    def name(self) -> str:
        return "action_start_over"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text="Your order is cleared.")
        return [Restarted()]


class NotSure(Action):
    """The message is forgotten, with the size it gave: only a sure order counts."""

    def name(self) -> str:
        return "action_not_sure"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text="Tell me when you are sure.")
        return [UserUtteranceReverted()]


class TrySize(Action):
    """Sets the size, then takes the action back (and the size with it)."""

    def name(self) -> str:
        return "action_try_size"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text="Sizes cannot be changed here.")
        return [SlotSet("size", "changed"), ActionReverted()]
