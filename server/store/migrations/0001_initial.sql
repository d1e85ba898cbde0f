-- The core schema: brands and inboxes, contacts and their channel identities, agents,
-- conversations, messages (per-conversation sequence) and the event log consoles resume from.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE brands (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE inboxes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    brand_id    uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    channel     text NOT NULL CHECK (channel IN ('webchat', 'email', 'telegram', 'slack')),
    -- The channel's own address of the inbox: a widget key, a mail address, a bot name.
    address     text NOT NULL,
    name        text NOT NULL,
    settings    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel, address)
);

CREATE TABLE contacts (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    brand_id    uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    name        text,
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_email ON contacts (brand_id, lower(email)) WHERE email IS NOT NULL;

-- One row per way a contact reaches us: a widget visitor id, a mail address, a Telegram user.
CREATE TABLE contact_identities (
    id          bigserial PRIMARY KEY,
    contact_id  uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    channel     text NOT NULL,
    external_id text NOT NULL,
    profile     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel, external_id)
);

CREATE TABLE agents (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL,
    name          text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'supervisor', 'admin')),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX agents_email ON agents (lower(email));

CREATE TABLE conversations (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    brand_id        uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    inbox_id        uuid NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
    contact_id      uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    channel         text NOT NULL,
    status          text NOT NULL DEFAULT 'bot'
                    CHECK (status IN ('bot', 'queued', 'assigned', 'resolved')),
    priority        integer NOT NULL DEFAULT 0,
    assignee_id     uuid REFERENCES agents(id) ON DELETE SET NULL,
    -- The highest message seq; bumped under the row lock, so seqs are gap-free.
    last_seq        integer NOT NULL DEFAULT 0,
    last_message_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz
);
-- A contact has at most one open conversation per inbox; a new one opens after resolution.
CREATE UNIQUE INDEX conversations_one_open ON conversations (inbox_id, contact_id)
    WHERE status <> 'resolved';
CREATE INDEX conversations_by_status ON conversations (status, last_message_at DESC);

CREATE TABLE messages (
    id              bigserial PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq             integer NOT NULL,
    direction       text NOT NULL CHECK (direction IN ('in', 'out')),
    author_kind     text NOT NULL CHECK (author_kind IN ('customer', 'bot', 'agent', 'system')),
    author_id       uuid,
    -- Where the message came from ('webchat', 'console', ...) and its id there: a retried
    -- delivery carries the same external id and is stored once.
    channel         text NOT NULL,
    external_id     text,
    text            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (conversation_id, seq),
    UNIQUE (channel, external_id)
);

-- Every stored event, in id order: consoles resume from the last id they saw.
CREATE TABLE events (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL,
    conversation_id uuid NOT NULL,
    data            jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
