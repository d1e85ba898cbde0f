"""The Telegram channel: aiogram 3 against the Bot API (webhook or long polling)."""
