-- Routing: teams, skills, agents' capacity and status, which intents need which skills, SLA
-- policies and business hours per brand; each conversation's team, standing priority (with
-- its explanation) and SLA deadlines; SLA breaches, the assignment history, and leases that
-- let exactly one node run a periodic job.
ALTER TABLE brands
    -- "mon-fri 09:00-18:00 Europe/Paris"; NULL: the team answers at any hour.
    ADD COLUMN business_hours text,
    -- Conversations in another language need an agent with that language as a skill.
    ADD COLUMN language text NOT NULL DEFAULT 'en';

CREATE TABLE teams (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    brand_id           uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    slug               text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name               text NOT NULL,
    -- auto: the router assigns; manual: agents pick from the queue.
    assignment         text NOT NULL DEFAULT 'auto' CHECK (assignment IN ('auto', 'manual')),
    -- An agent gone away past the grace period: their unanswered conversations go back to
    -- the queue (true) or wait for them (false).
    requeue_unanswered boolean NOT NULL DEFAULT true,
    -- Where conversations go when neither the intent nor the inbox names a team.
    is_default         boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_id, slug)
);
CREATE UNIQUE INDEX teams_one_default ON teams (brand_id) WHERE is_default;

CREATE TABLE skills (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    description text NOT NULL DEFAULT ''
);

CREATE TABLE team_members (
    team_id  uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, agent_id)
);

CREATE TABLE agent_skills (
    agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    skill    text NOT NULL REFERENCES skills(name) ON DELETE CASCADE,
    PRIMARY KEY (agent_id, skill)
);

ALTER TABLE agents
    ADD COLUMN capacity         integer NOT NULL DEFAULT 5 CHECK (capacity >= 0),
    ADD COLUMN status           text NOT NULL DEFAULT 'offline'
                                CHECK (status IN ('online', 'away', 'offline')),
    ADD COLUMN status_at        timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN last_assigned_at timestamptz;

ALTER TABLE inboxes ADD COLUMN team_id uuid REFERENCES teams(id) ON DELETE SET NULL;

-- Which intents need which skills (and, optionally, which team).
CREATE TABLE intent_routes (
    brand_id uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    intent   text NOT NULL,
    team_id  uuid REFERENCES teams(id) ON DELETE SET NULL,
    skills   text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (brand_id, intent)
);

CREATE TABLE sla_policies (
    brand_id               uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    band                   text NOT NULL CHECK (band IN ('urgent', 'high', 'normal', 'low')),
    first_response_seconds integer NOT NULL CHECK (first_response_seconds > 0),
    resolution_seconds     integer NOT NULL CHECK (resolution_seconds > 0),
    escalation_points      integer NOT NULL DEFAULT 0 CHECK (escalation_points >= 0),
    notify_team_id         uuid REFERENCES teams(id) ON DELETE SET NULL,
    PRIMARY KEY (brand_id, band)
);

ALTER TABLE contacts
    ADD COLUMN tier           text,
    ADD COLUMN lifetime_value numeric NOT NULL DEFAULT 0;

ALTER TABLE conversations
    ADD COLUMN team_id            uuid REFERENCES teams(id) ON DELETE SET NULL,
    ADD COLUMN required_skills    text[] NOT NULL DEFAULT '{}',
    -- The intent of the message that brought the handoff (and its priority).
    ADD COLUMN intent             text,
    -- The standing priority's contributions: [{"points": 40, "label": "VIP"}, ...].
    ADD COLUMN priority_parts     jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN band               text,
    ADD COLUMN escalation         integer NOT NULL DEFAULT 0,
    -- Since when it waits for an agent: the queue's aging counts from here.
    ADD COLUMN queued_at          timestamptz,
    ADD COLUMN assigned_at        timestamptz,
    ADD COLUMN first_response_due timestamptz,
    ADD COLUMN resolution_due     timestamptz,
    ADD COLUMN first_response_at  timestamptz,
    -- The agent of the contact's previous conversation: a reopened one goes back to them.
    ADD COLUMN previous_agent_id  uuid REFERENCES agents(id) ON DELETE SET NULL;
CREATE INDEX conversations_queue ON conversations (team_id, queued_at) WHERE status = 'queued';
CREATE INDEX conversations_assignee ON conversations (assignee_id) WHERE status = 'assigned';

-- One row per missed deadline; the unique key makes a breach fire once whatever happens.
CREATE TABLE sla_breaches (
    id              bigserial PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('first_response', 'resolution')),
    due_at          timestamptz NOT NULL,
    breached_at     timestamptz NOT NULL,
    team_id         uuid,
    UNIQUE (conversation_id, kind, due_at)
);

-- Who got which conversation, when and how: the audit trail and the tests' exactly-once proof.
CREATE TABLE assignments (
    id              bigserial PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    agent_id        uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    how             text NOT NULL CHECK (how IN ('auto', 'claim', 'reply', 'transfer')),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignments_by_conversation ON assignments (conversation_id);

-- A periodic job (the SLA and presence sweeps) runs on the node holding its lease.
CREATE TABLE leases (
    name       text PRIMARY KEY,
    holder     text NOT NULL,
    expires_at timestamptz NOT NULL
);
