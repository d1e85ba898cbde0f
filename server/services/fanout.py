"""Hands each event from the bus to this node's live sockets: widgets and consoles."""

from __future__ import annotations

from channels.webchat.hub import WebchatHub
from server import events
from server.events import Event
from server.live.bus import RESYNC, EventBus
from web_console.hub import ConsoleHub


def connect(bus: EventBus, webchat: WebchatHub, console: ConsoleHub) -> None:
    """Subscribe the hubs to the bus."""

    def on_event(event: Event) -> None:
        if event.name == RESYNC:
            webchat.resync()
            console.resync()
            return
        data = event.data
        if event.name == events.MESSAGE_CREATED:
            webchat.deliver_message(data["inbox_id"], data["contact_id"], data["message"])
        elif (
            event.name == events.TYPING
            and data["author_kind"] == "agent"
            and data.get("to_customer", True)
        ):
            webchat.deliver_typing(data["contact_id"], event.conversation_id, data["active"])
        console.broadcast(
            {
                "id": event.id,
                "name": event.name,
                "conversation_id": event.conversation_id,
                "data": data,
            }
        )

    bus.subscribe(on_event)
