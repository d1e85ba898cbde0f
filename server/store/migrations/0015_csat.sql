-- CSAT (issue 16): when an agent resolves a conversation the customer is asked, on their
-- channel, to rate it from 1 to 5; the answer (and what they add) is kept with it.
CREATE TABLE csat (
    conversation_id uuid PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    brand_id        uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    -- Who resolved it: the rating is theirs in the reports.
    agent_id        uuid REFERENCES agents(id) ON DELETE SET NULL,
    asked_at        timestamptz NOT NULL DEFAULT now(),
    rating          smallint CHECK (rating BETWEEN 1 AND 5),
    comment         text,
    answered_at     timestamptz
);
CREATE INDEX csat_of_brand ON csat (brand_id, answered_at);
