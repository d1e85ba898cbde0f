-- Accounts (issue 15): console sessions kept on the server, invite and reset links, TOTP
-- second factors with recovery codes, and personal API tokens. Every secret a client holds
-- (a session's cookie secret, a link's token, a recovery code, an API token) is stored as its
-- SHA-256 only: each is 32 random bytes (recovery codes 80 bits), far past guessing, so a
-- fast hash is enough and a copy of this database lets nobody in.

-- One row per signed-in browser. The cookie carries the secret and the agent's session
-- version; the row says who, since when, seen when and from where. A session is alive while
-- its row exists, its version is the agent's, it was seen within the idle timeout and made
-- within the absolute one (both settings, checked by the server).
CREATE TABLE console_sessions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id     uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    secret_hash  bytea NOT NULL UNIQUE,
    version      integer NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    user_agent   text NOT NULL DEFAULT '',
    address      text
);
CREATE INDEX console_sessions_agent ON console_sessions (agent_id, created_at);

-- Invite (set a first password) and reset links: single use, expiring.
CREATE TABLE password_links (
    token_hash bytea PRIMARY KEY,
    agent_id   uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('invite', 'reset')),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_links_agent ON password_links (agent_id);

-- TOTP (RFC 6238): the secret being enrolled until a code confirms it, then the secret in
-- use; the last time step accepted, so a code cannot be replayed within its window.
ALTER TABLE agents
    ADD COLUMN totp_pending   text,
    ADD COLUMN totp_secret    text,
    ADD COLUMN totp_last_step bigint,
    ADD COLUMN password_changed_at timestamptz;

CREATE TABLE recovery_codes (
    agent_id  uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    PRIMARY KEY (agent_id, code_hash)
);

-- Personal API tokens: scopes, an expiry, revocable; shown once.
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id     uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    name         text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    -- The token's first characters, so its owner can tell it in a list.
    hint         text NOT NULL,
    scopes       text[] NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_agent ON api_tokens (agent_id, created_at);
