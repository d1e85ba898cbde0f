"""The web chat channel: an embeddable widget speaking JSON frames over a WebSocket.

The protocol is documented in ``docs/webchat-protocol.md``.
"""
