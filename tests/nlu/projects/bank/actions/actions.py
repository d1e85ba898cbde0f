"""The bank bot's custom actions, for the rasa-sdk action server (and so for the embedded
engine when SWITCHBOARD_ACTION_SERVER_URL points at it)."""

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

LIMIT = 1000


class CheckBalance(Action):
    def name(self) -> str:
        return "action_check_balance"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text="Your balance is 1250 EUR.")
        return []


class Transfer(Action):
    def name(self) -> str:
        return "action_transfer"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if tracker.get_slot("confirmed"):
            dispatcher.utter_message(response="utter_transfer_done")
        else:
            dispatcher.utter_message(response="utter_transfer_cancelled")
        return [SlotSet("recipient", None), SlotSet("amount", None), SlotSet("confirmed", None)]


class ValidateTransferForm(FormValidationAction):
    def name(self) -> str:
        return "validate_transfer_form"

    def validate_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if int(value) > LIMIT:
            dispatcher.utter_message(text=f"You can send at most {LIMIT} EUR at once.")
            return {"amount": None}
        return {"amount": value}
