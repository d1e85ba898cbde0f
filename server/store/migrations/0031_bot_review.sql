-- The trainer review inbox (issue 19, server/store/bot_review.py). A review item is not
-- stored when it happens: every customer message the bot understood poorly (low confidence,
-- a fallback or out-of-scope verdict), that led to a handoff, or that an agent flagged is
-- found on read from messages.nlu, activities and bot_flags. Only what people did is stored:
-- an agent's "the bot got this wrong" (bot_flags) and a trainer's verdict (bot_reviews).

-- An agent's flag on a customer message the bot answered; one per agent and message (a
-- second click changes the note, it does not count twice).
CREATE TABLE bot_flags (
    id         bigserial PRIMARY KEY,
    message_id bigint NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    agent_id   uuid REFERENCES agents(id) ON DELETE SET NULL,
    -- What the agent thinks the customer meant, if they said (an intent name), and why.
    intent     text,
    note       text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (message_id, agent_id)
);
CREATE INDEX bot_flags_message ON bot_flags (message_id);

-- A trainer's verdict on one message: the prediction confirmed, another intent picked (or a
-- new one), or "not for the bot" (ignored). ``predicted`` is the intent the engine gave the
-- message when it came in, kept so the accuracy (confirmed / reviewed) never changes when a
-- message is interpreted again.
CREATE TABLE bot_reviews (
    message_id  bigint PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    status      text NOT NULL CHECK (status IN ('confirmed', 'relabelled', 'ignored')),
    predicted   text NOT NULL,
    intent      text,
    -- The trainer's entity annotations: [{start, end, entity, value}] over the message's text.
    entities    jsonb NOT NULL DEFAULT '[]',
    reviewer_id uuid REFERENCES agents(id) ON DELETE SET NULL,
    reviewer    text NOT NULL,
    reviewed_at timestamptz NOT NULL DEFAULT now(),
    -- Where the example was written in the project (file), NULL for "not for the bot".
    written_to  text,
    CHECK ((status = 'ignored') = (intent IS NULL))
);
CREATE INDEX bot_reviews_reviewed ON bot_reviews (reviewed_at);

-- Each retrain from the review inbox, with the accuracy on the reviewed set before and after
-- (the model that served before it against the one after, on the same reviewed messages).
CREATE TABLE bot_review_trainings (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    agent_id        uuid REFERENCES agents(id) ON DELETE SET NULL,
    agent           text NOT NULL,
    fingerprint_before text NOT NULL,
    fingerprint_after  text NOT NULL,
    -- The project's version (studio's versions), when there is one.
    version         text,
    reviewed        integer NOT NULL,
    right_before    integer NOT NULL,
    right_after     integer NOT NULL,
    error           text
);
