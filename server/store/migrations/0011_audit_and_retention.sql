-- Who did what (issue 15): an append-only audit log; and customer data rights: what an erasure
-- or the retention sweep has done to a contact or a conversation, and each brand's retention.

-- One row per action: an agent's (actor_id), the admin token's or the system's (actor_id NULL;
-- actor_label says which). No foreign keys: an entry outlives the agent, brand or contact it
-- names. Entries name a contact by its id only, never by its name or address, so an erasure
-- needs nothing from this table, and its own entry stays.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,
    actor_label text NOT NULL,
    action      text NOT NULL,
    brand_id    uuid,
    target_kind text,
    target_id   text,
    detail      jsonb NOT NULL DEFAULT '{}',
    -- The client's IP address, for actions that came over the network.
    address     text
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_actor ON audit_log (actor_id, id) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_log_target ON audit_log (target_kind, target_id, id);

-- Append-only in the database itself, whatever the code above it does.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is refused', TG_OP;
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Retention per brand, in days; NULL keeps forever. Conversations resolved longer ago than
-- retention_days are anonymised; events (the consoles' replay log) older than
-- events_retention_days are deleted; raw mail and attached files older than
-- files_retention_days are deleted.
ALTER TABLE brands
    ADD COLUMN retention_days        integer CHECK (retention_days > 0),
    ADD COLUMN events_retention_days integer DEFAULT 30 CHECK (events_retention_days > 0),
    ADD COLUMN files_retention_days  integer CHECK (files_retention_days > 0);

-- An erased contact keeps its row (its conversations still count in reports), emptied.
ALTER TABLE contacts ADD COLUMN erased_at timestamptz;
-- A conversation whose messages were replaced by tombstones (erasure or retention).
ALTER TABLE conversations ADD COLUMN anonymised_at timestamptz;
CREATE INDEX conversations_to_anonymise ON conversations (brand_id, resolved_at)
    WHERE status = 'resolved' AND anonymised_at IS NULL;

-- The retention sweep deletes events by age; ids and times grow together, so a BRIN index
-- (a few pages) finds the old ones without taxing every insert as a btree would.
CREATE INDEX events_created_at ON events USING brin (created_at);
