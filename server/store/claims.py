"""Giving a queued conversation to an agent in SQL: one claim (an agent's reply, a manual
assignment, the router's fallback) or a router batch's claims in one statement. Each locks the
conversation (SKIP LOCKED: another node claiming it makes this one give up at once) and the
agent while their load is counted, so two nodes can neither share a conversation nor overfill
an agent; each records the assignment and the transcript's activity."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from server.store.views import Conn

# A claim's refusal when another transaction holds the conversation (or it does not exist).
BEING_CHANGED = "the conversation is being changed by someone else"
# The router's claim's refusal when the agent it chose has gone away or offline since.
NOT_ONLINE = "the agent is not online"
# A claim's refusal when the agent has no room (followed by their load and capacity).
AT_CAPACITY = "the agent is at capacity"


async def _lock_agents(conn: Conn, agent_ids: list[UUID]) -> None:
    """Take the agents' rows before the claim's own statement, in id order. The claim counts
    an agent's load in its statement's snapshot; if that statement itself waited for the
    agent's row (another claim for them, uncommitted), its count would miss that claim's
    conversation and overfill the agent (the review's proof: two claims at capacity 1 gave a
    load of 2). Locked here first, the claim's statement starts after the other committed
    and counts it (READ COMMITTED: a new snapshot a statement)."""
    await conn.execute(
        "SELECT 1 FROM agents WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE",
        agent_ids,
    )


async def claim(
    conn: Conn,
    conversation_id: str,
    agent_id: str,
    how: str,
    now: datetime,
    *,
    statuses: tuple[str, ...] = ("queued",),
    check_capacity: bool = True,
    actor_id: str | None = None,
    online_only: bool = False,
) -> str | None:
    """Give the conversation to the agent, inside the caller's transaction, in one statement
    (after locking the agent), recorded as an activity by ``actor_id`` (None: the router).
    ``online_only``: only while the agent is online (the router, which chose them from a
    read that may be a pass old; a person may still assign to someone away).
    Returns None on success, else why not. The conversation row is taken with SKIP LOCKED
    (another node claiming it makes this one give up at once) and the agent's row is locked
    while their load is counted, so two nodes can neither share a conversation nor overfill
    an agent."""
    # NO KEY UPDATE, the lock the UPDATE below takes anyway: rows inserted that refer to the
    # conversation or the agent (a message, an activity) do not make the claim skip it.
    await _lock_agents(conn, [UUID(agent_id)])
    row = await conn.fetchrow(
        """WITH conv AS (
               SELECT id, status FROM conversations WHERE id = $1
                  FOR NO KEY UPDATE SKIP LOCKED),
           agent AS (
               SELECT a.id, a.capacity, a.status,
                      (SELECT count(*) FROM conversations c
                        WHERE c.assignee_id = a.id AND c.status = 'assigned') AS load
                 FROM agents a WHERE a.id = $2 AND a.active FOR NO KEY UPDATE),
           granted AS (
               SELECT conv.id AS conversation_id, agent.id AS agent_id FROM conv, agent
                WHERE conv.status = ANY($5::text[])
                  AND (NOT $6 OR agent.load < agent.capacity)
                  AND (NOT $8 OR agent.status = 'online')),
           assigned AS (
               UPDATE conversations c
                  SET status = 'assigned', assignee_id = g.agent_id, assigned_at = $3,
                      updated_at = now()
                 FROM granted g WHERE c.id = g.conversation_id),
           stamped AS (
               UPDATE agents a SET last_assigned_at = $3 FROM granted g WHERE a.id = g.agent_id),
           recorded AS (
               INSERT INTO assignments (conversation_id, agent_id, how)
               SELECT conversation_id, agent_id, $4 FROM granted),
           shown AS (
               INSERT INTO activities (conversation_id, kind, actor_id, agent_id, detail)
               SELECT conversation_id, 'assigned', $7, agent_id, $4 FROM granted)
           SELECT (SELECT status FROM conv) AS status,
                  (SELECT capacity FROM agent) AS capacity,
                  (SELECT load FROM agent) AS load,
                  (SELECT status FROM agent) AS agent_status,
                  EXISTS (SELECT 1 FROM granted) AS granted""",
        UUID(conversation_id),
        UUID(agent_id),
        now,
        how,
        list(statuses),
        check_capacity,
        UUID(actor_id) if actor_id else None,
        online_only,
    )
    assert row is not None  # a SELECT without FROM always returns its row
    if row["granted"]:
        return None
    if row["status"] is None:
        # Locked by another claim (SKIP LOCKED), or no such conversation.
        return BEING_CHANGED
    if row["status"] not in statuses:
        return f"the conversation is {row['status']}"
    if row["capacity"] is None:
        return "no such agent"
    if online_only and row["agent_status"] != "online":
        return f"{NOT_ONLINE} ({row['agent_status']})"
    return f"{AT_CAPACITY} ({row['load']}/{row['capacity']})"


async def claim_many(
    conn: Conn, claims: Sequence[tuple[str, str]], how: str, now: datetime
) -> list[bool]:
    """``claim`` of each (conversation, agent) pair of queued conversations, by the router
    (no actor), inside the caller's transaction and in one statement: whether each was
    granted, in order. Only to agents still online. An agent named several times gets them
    while their load, counted once before the statement, plus the ones granted before in the
    list stays within their capacity. The caller plans the pairs as if every claim succeeds
    and, when one does not (taken, changed or locked by someone else, an agent filled from
    elsewhere or gone away), rolls the statement back and claims one at a time: a refusal
    here must not let a later claim of the same team through out of order."""
    if not claims:
        return []
    await _lock_agents(conn, sorted({UUID(a) for _, a in claims}))
    rows = await conn.fetch(
        """WITH wanted AS (
               SELECT w.conversation_id, w.agent_id, w.ord
                 FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY
                      AS w(conversation_id, agent_id, ord)),
           conv AS (
               SELECT id FROM conversations
                WHERE id = ANY($1::uuid[]) AND status = 'queued'
                  FOR NO KEY UPDATE SKIP LOCKED),
           agent AS (
               SELECT a.id, a.capacity,
                      (SELECT count(*) FROM conversations c
                        WHERE c.assignee_id = a.id AND c.status = 'assigned') AS load
                 FROM agents a
                WHERE a.id = ANY($2::uuid[]) AND a.active AND a.status = 'online'
                ORDER BY a.id FOR NO KEY UPDATE),
           takeable AS (
               SELECT w.conversation_id, w.agent_id, w.ord, agent.load, agent.capacity,
                      row_number() OVER (PARTITION BY w.agent_id ORDER BY w.ord) AS nth
                 FROM wanted w JOIN conv ON conv.id = w.conversation_id
                 JOIN agent ON agent.id = w.agent_id),
           granted AS (
               SELECT conversation_id, agent_id, ord FROM takeable
                WHERE load + nth <= capacity),
           assigned AS (
               UPDATE conversations c
                  SET status = 'assigned', assignee_id = g.agent_id, assigned_at = $3,
                      updated_at = now()
                 FROM granted g WHERE c.id = g.conversation_id),
           stamped AS (
               UPDATE agents a SET last_assigned_at = $3
                WHERE a.id IN (SELECT agent_id FROM granted)),
           recorded AS (
               INSERT INTO assignments (conversation_id, agent_id, how)
               SELECT conversation_id, agent_id, $4 FROM granted ORDER BY ord),
           shown AS (
               INSERT INTO activities (conversation_id, kind, actor_id, agent_id, detail)
               SELECT conversation_id, 'assigned', NULL, agent_id, $4 FROM granted
                ORDER BY ord)
           SELECT w.ord, g.ord IS NOT NULL AS granted
             FROM wanted w LEFT JOIN granted g ON g.ord = w.ord
            ORDER BY w.ord""",
        [UUID(c) for c, _ in claims],
        [UUID(a) for _, a in claims],
        now,
        how,
    )
    return [bool(r["granted"]) for r in rows]
