-- Email: raw receipts kept before SMTP says 250, conversations keyed by their mail thread,
-- attachments, and the outbox every non-live channel delivers from.

-- Every accepted SMTP transaction, stored before the 250 and parsed after it. A receipt that
-- cannot be parsed is quarantined with its reason (admins read and retry it), never dropped.
CREATE TABLE mail_receipts (
    id              bigserial PRIMARY KEY,
    received_at     timestamptz NOT NULL DEFAULT now(),
    peer            text NOT NULL,
    mail_from       text NOT NULL,
    rcpt_tos        text[] NOT NULL,
    raw             bytea NOT NULL,
    state           text NOT NULL DEFAULT 'received'
                    CHECK (state IN ('received', 'stored', 'duplicate', 'report', 'quarantined')),
    -- Why it is quarantined, or what a stored receipt became ('auto-reply: ...').
    reason          text,
    message_id      text,
    subject         text,
    conversation_id uuid REFERENCES conversations(id) ON DELETE SET NULL,
    attempts        integer NOT NULL DEFAULT 0,
    -- A node parsing it holds it until then; a node that died lets it go when it passes.
    claimed_until   timestamptz,
    processed_at    timestamptz
);
CREATE INDEX mail_receipts_pending ON mail_receipts (id) WHERE state = 'received';
CREATE INDEX mail_receipts_by_state ON mail_receipts (state, id DESC);

-- A conversation may be one thread of a channel that has threads (an email thread, a Slack
-- thread): its key is unique in the inbox, and the contact may have several open at once.
-- Threadless conversations keep the rule of one open conversation per contact and inbox.
ALTER TABLE conversations
    ADD COLUMN thread_key text,
    ADD COLUMN subject    text,
    -- The plus-address token replies carry back (support+<token>@...).
    ADD COLUMN reply_token text UNIQUE;
CREATE UNIQUE INDEX conversations_thread ON conversations (inbox_id, thread_key)
    WHERE thread_key IS NOT NULL;
DROP INDEX conversations_one_open;
CREATE UNIQUE INDEX conversations_one_open ON conversations (inbox_id, contact_id)
    WHERE status <> 'resolved' AND thread_key IS NULL;

CREATE TABLE attachments (
    id           bigserial PRIMARY KEY,
    message_id   bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    -- Its place among the message's attachments (the message's meta lists them in order).
    position     integer NOT NULL,
    filename     text NOT NULL,
    content_type text NOT NULL,
    size         integer NOT NULL,
    content      bytea NOT NULL
);
CREATE UNIQUE INDEX attachments_by_message ON attachments (message_id, position);

-- One row per outgoing message on a channel that is not live (email now; Telegram and Slack
-- later), written in the message's transaction; delivery workers on any node claim due rows.
CREATE TABLE deliveries (
    message_id      bigint PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    channel         text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'failed', 'suppressed',
                                      'delivered', 'delayed', 'bounced')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- The id the channel knows the message by (our Message-ID for email).
    external_id     text,
    detail          text,
    -- The delivery status notification(s) that reported on it, as parsed.
    report          jsonb,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE UNIQUE INDEX deliveries_by_external_id ON deliveries (channel, external_id)
    WHERE external_id IS NOT NULL;
