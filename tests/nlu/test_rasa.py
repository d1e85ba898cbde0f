"""The Rasa client keeps its token to itself: Rasa reads it from the URL's query, and httpx
puts that URL in its errors, which reach the logs, stored interpretations and ``/readyz``."""

from __future__ import annotations

import httpx
import pytest
from structlog.testing import capture_logs

from nlu.base import Button, Dialogue, Interpretation
from nlu.rasa import RasaInterpreter

TOKEN = "s3cret-rasa-token-0123456789"


def _answering(status: int) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["token"] == TOKEN  # Rasa's token auth: the query
        return httpx.Response(status, json={"status": "failure", "message": "nope"})

    return httpx.MockTransport(handler)


def _unreachable() -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("transport", [_answering(401), _answering(500), _unreachable()])
async def test_the_token_appears_in_no_error_log_or_state(transport: httpx.MockTransport) -> None:
    rasa = RasaInterpreter(
        "http://rasa.invalid:5005", frozenset({"en"}), token=TOKEN, transport=transport
    )
    with capture_logs() as logs:
        interpretation = await rasa.parse("where is my order")
        turn = await rasa.respond(Dialogue("c1", interpretation, "en"))
    await rasa.close()
    assert interpretation.intent == "unknown"
    assert rasa.state()["error"]
    seen = [str(rasa.state()), str(logs), repr(interpretation), repr(turn)]
    assert all(TOKEN not in text for text in seen), seen


async def test_buttons_and_images_from_rasa_are_kept() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tracker/events"):
            return httpx.Response(200, json={})
        return httpx.Response(
            200,
            json=[
                {
                    "recipient_id": "c1",
                    "text": "How can I help?",
                    "buttons": [{"title": "Track my order", "payload": "/order_status"}],
                },
                {"recipient_id": "c1", "image": "https://shop.test/logo.png"},
            ],
        )

    rasa = RasaInterpreter(
        "http://rasa.invalid", frozenset({"en"}), transport=httpx.MockTransport(handler)
    )
    greeting = Interpretation(text="hi", intent="greet", confidence=0.9, engine="rasa")
    turn = await rasa.respond(Dialogue("c1", greeting, "en"))
    await rasa.close()
    assert [(m.text, m.buttons, m.image) for m in turn.messages] == [
        ("How can I help?", (Button("Track my order", "/order_status"),), None),
        (None, (), "https://shop.test/logo.png"),
    ]


async def test_a_full_connection_pool_does_not_open_the_circuit() -> None:
    """Waiting for one of this node's own connections is not Rasa failing: parses that time out
    in the pool are each unknown, and the circuit stays closed for the next one."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/model/parse" and b"busy" in request.content:
            raise httpx.PoolTimeout("no connection free", request=request)
        return httpx.Response(200, json={"intent": {"name": "greet", "confidence": 0.9}})

    rasa = RasaInterpreter(
        "http://rasa.invalid:5005", frozenset({"en"}), transport=httpx.MockTransport(handler)
    )
    for _ in range(5):
        assert (await rasa.parse("busy")).intent == "unknown"
    understood = await rasa.parse("hello")
    await rasa.close()
    assert understood.intent == "greet"
