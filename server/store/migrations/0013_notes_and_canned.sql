-- The console's teamwork (issue 16): internal notes on a conversation, never sent to the
-- customer, with the colleagues they mention; and canned responses per brand, found by a
-- /shortcut in the reply box.
CREATE TABLE notes (
    id              bigserial PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    author_id       uuid REFERENCES agents(id) ON DELETE SET NULL,
    text            text NOT NULL CHECK (length(text) BETWEEN 1 AND 10000),
    mentions        uuid[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notes_of_conversation ON notes (conversation_id, id);

CREATE TABLE canned_responses (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    brand_id    uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    shortcut    text NOT NULL CHECK (shortcut ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    -- May hold {{contact.name}}, {{contact.email}}, {{agent.name}}, {{conversation.id}}.
    text        text NOT NULL CHECK (length(text) BETWEEN 1 AND 10000),
    updated_by  uuid REFERENCES agents(id) ON DELETE SET NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, shortcut)
);
