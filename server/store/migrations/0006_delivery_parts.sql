-- A reply too long for one channel message (Telegram: 4,096 characters) goes out in parts.
-- Each part sent is counted before the next is sent, so a retry after a failure part-way
-- (flood control, a restart) sends the rest and never a part twice.
ALTER TABLE deliveries ADD COLUMN parts_sent integer NOT NULL DEFAULT 0;
