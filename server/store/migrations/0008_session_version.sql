-- Console sessions are signed cookies; each carries the agent's session version when it was
-- made. Logging out, a password or role change bump the version, so every earlier cookie,
-- copied or not, stops working at the next request.
ALTER TABLE agents ADD COLUMN session_version integer NOT NULL DEFAULT 0;
