"""The Telegram channel: aiogram 3 against the Bot API (webhook or long polling)."""

from channels.base import Capabilities

# Text, documents and typing (sendChatAction); inline keyboards and photos are not sent yet.
CAPABILITIES = Capabilities(attachments=True, typing=True)
