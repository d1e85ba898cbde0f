"""A complete third-party web chat client, using only the standard library and `websockets`.

    pip install websockets
    python webchat_client.py http://127.0.0.1:8000 demo-web "Hello, is anyone there?"

It starts a visitor session, opens the socket, says hello, sends one message, prints every
frame it receives, and exits once its message is acknowledged and someone other than the
customer has answered.
"""

import asyncio
import json
import sys
import urllib.request
import uuid

from websockets.asyncio.client import connect


def start_session(base_url: str, inbox: str, token: str | None = None) -> dict:
    """POST /api/webchat/sessions: returns {token, visitor_id, expires_in, websocket_path}."""
    body = json.dumps({"inbox": inbox, "token": token}).encode()
    request = urllib.request.Request(
        f"{base_url}/api/webchat/sessions",
        data=body,
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


async def chat(base_url: str, inbox: str, text: str) -> None:
    session = start_session(base_url, inbox)
    ws_url = base_url.replace("http", "ws", 1) + session["websocket_path"]
    async with connect(ws_url) as ws:
        # 1. hello first: the token, and where to resume (nothing seen yet).
        await ws.send(
            json.dumps(
                {"type": "hello", "token": session["token"], "conversation_id": None, "last_seq": 0}
            )
        )
        welcome = json.loads(await ws.recv())
        print("welcome", welcome)
        # 2. a message with our own id: resending the same id never stores it twice.
        client_id = uuid.uuid4().hex
        await ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
        # 3. frames: an ack for our message, and messages in seq order (the ack may come
        #    before or after the echo of our own message).
        acked = answered = False
        async for raw in ws:
            frame = json.loads(raw)
            print(frame["type"], frame)
            acked = acked or (frame["type"] == "ack" and frame["client_id"] == client_id)
            answered = answered or (
                frame["type"] == "message" and frame["message"]["author_kind"] != "customer"
            )
            if acked and answered:
                return


if __name__ == "__main__":
    asyncio.run(chat(sys.argv[1], sys.argv[2], sys.argv[3]))
