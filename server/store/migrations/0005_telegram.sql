-- Telegram: where long polling has got to, per bot, so an update counts as consumed only once
-- it is stored (the next getUpdates passes the offset after it).
CREATE TABLE channel_cursors (
    channel    text NOT NULL,
    account    text NOT NULL,
    position   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, account)
);
