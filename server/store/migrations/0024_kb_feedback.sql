-- What the knowledge base learns from (issue 18): every time an article is put in front of
-- someone, and how it turned out. Ranking reads a resolution prior per article from these,
-- and the console's Knowledge area shows views, resolution and "not helpful" rates, and the
-- conversations behind them.

-- One row per article shown: by the bot to a customer, suggested to an agent in the context
-- panel, or sent by an agent in a reply. ``position`` is its place in what was shown (0 is
-- first); ``message_id`` the message that carried it, when one did.
CREATE TABLE kb_article_uses (
    id              bigserial PRIMARY KEY,
    article_id      uuid NOT NULL REFERENCES kb_articles(id) ON DELETE CASCADE,
    -- Copied from the conversation so that per-brand figures read one table.
    brand_id        uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('shown_by_bot', 'suggested_to_agent', 'sent_by_agent')),
    position        integer NOT NULL DEFAULT 0 CHECK (position >= 0),
    message_id      bigint REFERENCES messages(id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kb_article_uses_article ON kb_article_uses (article_id, kind, created_at);
CREATE INDEX kb_article_uses_conversation ON kb_article_uses (conversation_id);

-- How an article did in one conversation, at most one verdict each: resolved (the customer
-- said yes, an agent marked it, or the conversation ended without a handoff after the bot
-- showed it) or not helpful (the customer said no, or a follow-up showed it did not help).
-- A later verdict replaces an earlier one: an agent's mark outranks an inferred one.
CREATE TABLE kb_article_outcomes (
    article_id      uuid NOT NULL REFERENCES kb_articles(id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    brand_id        uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    outcome         text NOT NULL CHECK (outcome IN ('resolved', 'not_helpful')),
    source          text NOT NULL CHECK (source IN ('customer', 'agent', 'no_handoff', 'follow_up')),
    agent_id        uuid REFERENCES agents(id) ON DELETE SET NULL,
    decided_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (article_id, conversation_id)
);
CREATE INDEX kb_article_outcomes_brand ON kb_article_outcomes (brand_id, article_id, outcome);
