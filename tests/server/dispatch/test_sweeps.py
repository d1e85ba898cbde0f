"""The presence sweep after a restart: agents whose console says online are not marked away
before their consoles have had the grace period to reconnect to this node."""

from __future__ import annotations

from server.services import demo
from tests.harness import RunningServer


async def _online_since_yesterday(server: RunningServer) -> None:
    await server.services.pool.execute(
        "UPDATE agents SET status = 'online', status_at = now() - interval '1 day'"
        " WHERE email = $1",
        demo.AGENT_EMAIL,
    )


async def _status(server: RunningServer) -> str:
    status: str = await server.services.pool.fetchval(
        "SELECT status FROM agents WHERE email = $1", demo.AGENT_EMAIL
    )
    return status


async def test_a_fresh_node_waits_the_grace_before_marking_anyone_away(
    server: RunningServer,
) -> None:
    await _online_since_yesterday(server)
    sweeps = server.services.sweeps
    assert await sweeps.presence() == 0
    assert await _status(server) == "online"
    # The grace, counted from the start, has passed and no console came back.
    sweeps.started -= server.services.settings.presence_grace_seconds + 1
    assert await sweeps.presence() >= 1
    assert await _status(server) == "away"
