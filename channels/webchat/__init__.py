"""The web chat channel: an embeddable widget speaking JSON frames over a WebSocket.

The protocol is documented in ``docs/webchat-protocol.md``.
"""

from channels.base import Capabilities

# The widget shows text and files, and typing; buttons and images are degraded to text.
CAPABILITIES = Capabilities(attachments=True, typing=True)
