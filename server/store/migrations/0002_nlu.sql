-- NLU: every customer message's interpretation, language and sentiment; why a conversation
-- went to a human; VIP contacts; and the orders the bot can look up.
ALTER TABLE messages
    ADD COLUMN nlu       jsonb,
    ADD COLUMN language  text,
    ADD COLUMN sentiment real,
    -- For bot messages, the action that produced them; the embedded engine's dialogue
    -- history is read back from these.
    ADD COLUMN meta      jsonb NOT NULL DEFAULT '{}';

ALTER TABLE conversations
    ADD COLUMN handoff_reason text,
    ADD COLUMN handoff_at     timestamptz,
    ADD COLUMN language       text,
    -- Not-understood customer messages in a row; reset by one the bot understands.
    ADD COLUMN bot_fallbacks  integer NOT NULL DEFAULT 0;

ALTER TABLE contacts ADD COLUMN vip boolean NOT NULL DEFAULT false;

CREATE TABLE orders (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    brand_id           uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    number             text NOT NULL,
    contact_id         uuid REFERENCES contacts(id) ON DELETE SET NULL,
    status             text NOT NULL CHECK (status IN ('processing', 'shipped',
                       'out_for_delivery', 'delivered', 'delayed', 'cancelled')),
    carrier            text,
    tracking_number    text,
    estimated_delivery date,
    delivered_on       date,
    items              jsonb NOT NULL DEFAULT '[]',
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, number)
);
