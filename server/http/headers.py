"""Headers every HTTP response carries, whatever route made it.

``nosniff``: a browser never runs an upload or a JSON answer as script or style because its
bytes look like one. ``Referrer-Policy``: a link an agent follows from the console, or a
customer from the widget, does not carry our paths (conversation ids) to another site. The
console's page adds its own Content-Security-Policy (web_console.routes). WebSockets pass
through untouched (the widget's socket is the hot path).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in ALWAYS if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
