-- Who may see and do what (issue 15). An agent's powers are the roles they hold in each
-- brand; agents.role keeps one meaning: 'admin' holds every power in every brand, anyone else
-- is a 'member' whose reach is their brand_roles rows.
--   supervisor  the brand's conversations, queues, agents and reports
--   agent       the brand's conversations with no team yet, of their teams, or assigned to them
--   analyst     reports and conversations, read-only
--   designer    the brand's bot
--   editor      the brand's knowledge base
CREATE TABLE brand_roles (
    agent_id uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    brand_id uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    role     text NOT NULL
             CHECK (role IN ('supervisor', 'agent', 'analyst', 'designer', 'editor')),
    PRIMARY KEY (agent_id, brand_id, role)
);
CREATE INDEX brand_roles_brand ON brand_roles (brand_id);

-- Until now every supervisor and agent reached every brand. Each keeps their role where their
-- teams are; one in no team keeps it in every brand, so a single-brand install's agents see
-- what they saw before.
INSERT INTO brand_roles (agent_id, brand_id, role)
SELECT DISTINCT a.id, t.brand_id, a.role
  FROM agents a
  JOIN team_members m ON m.agent_id = a.id
  JOIN teams t ON t.id = m.team_id
 WHERE a.role <> 'admin';

INSERT INTO brand_roles (agent_id, brand_id, role)
SELECT a.id, b.id, a.role
  FROM agents a CROSS JOIN brands b
 WHERE a.role <> 'admin'
   AND NOT EXISTS (SELECT 1 FROM team_members m WHERE m.agent_id = a.id);

ALTER TABLE agents DROP CONSTRAINT agents_role_check;
UPDATE agents SET role = 'member' WHERE role <> 'admin';
ALTER TABLE agents ALTER COLUMN role SET DEFAULT 'member';
ALTER TABLE agents ADD CONSTRAINT agents_role_check CHECK (role IN ('member', 'admin'));
