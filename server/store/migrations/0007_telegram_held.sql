-- Telegram updates the webhook received before the bot had connected (its username, and so
-- what an update means to it, still unknown). Each is kept as Telegram sent it and answered
-- 200; once the bot has connected they are turned into messages and deleted. Keyed by the
-- bot (its id is the token's prefix) and the update_id, so a redelivery is kept once.
CREATE TABLE telegram_held_updates (
    bot_id      bigint NOT NULL,
    update_id   bigint NOT NULL,
    body        bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bot_id, update_id)
);
