-- What happened to a conversation besides its messages (issue 16): handed to a human and why,
-- assigned (to whom, how, by whom), transferred, put back in the queue, returned to the bot,
-- resolved, reopened, a deadline missed. The console shows them inline in the transcript.
-- Written in the transaction of the change itself, so the record and the change agree.
CREATE TABLE activities (
    id              bigserial PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN (
                        'handed_off', 'assigned', 'transferred', 'requeued',
                        'returned_to_bot', 'resolved', 'reopened', 'sla_breached')),
    -- Who did it; NULL when the system did (the bot, the router, a sweep, the customer).
    actor_id        uuid REFERENCES agents(id) ON DELETE SET NULL,
    -- Whom it concerns: the agent assigned, or the one whose conversation went back.
    agent_id        uuid REFERENCES agents(id) ON DELETE SET NULL,
    team_id         uuid REFERENCES teams(id) ON DELETE SET NULL,
    -- The handoff reason, how it was assigned (auto, claim, reply, transfer), or which
    -- deadline was missed.
    detail          text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activities_of_conversation ON activities (conversation_id, id);
