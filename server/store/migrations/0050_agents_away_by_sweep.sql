-- Who chose an agent's "away": the presence sweep or a person (issue 21).
--
-- The sweep marks an agent away once their consoles have been gone past the grace period. In
-- the chaos run's reconnect storm 4 of 20 consoles took longer than that to come back and then
-- stayed away although connected. An away the sweep set is undone when a console connects
-- again; one the agent or an admin chose is not. Every other status change clears the mark
-- (server/store/roster.py). A constant default: no table rewrite.
ALTER TABLE agents ADD COLUMN away_by_sweep boolean NOT NULL DEFAULT false;
