"""SLA timers on two nodes sharing one Postgres and one hand-moved clock: a breach fires once,
when the business-time deadline passes, and escalates per policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from server.store import organisation as org
from tests import harness
from tests.channels.webchat_client import hello, new_session, next_of, open_socket, text


class DateClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_a_breach_fires_once_across_nodes_when_the_business_time_deadline_passes(
    dsn: str, tmp_path: Path
) -> None:
    # Friday 17:50 in Paris; the team works Monday to Friday, 09:00-18:00.
    clock = DateClock(datetime(2026, 11, 27, 16, 50, tzinfo=UTC))
    settings = harness.settings_for(dsn, tmp_path, sweep_seconds=0.05)
    async with (
        harness.run_server(settings, clock) as a,
        harness.run_server(settings, clock) as b,
    ):
        pool = a.services.pool
        async with pool.acquire() as conn:
            await org.put_brand(conn, "demo", business_hours="mon-fri 09:00-18:00 Europe/Paris")
            for band in ("urgent", "high", "normal", "low"):
                await org.put_sla_policy(
                    conn,
                    "demo",
                    band,
                    first_response_seconds=30 * 60,
                    resolution_seconds=8 * 3600,
                    escalation_points=25,
                    notify_team="support",
                )
        session = await new_session(a.base_url)
        async with await open_socket(a.ws_url) as ws:
            await hello(ws, session["token"])
            await ws.send(text({"type": "message", "client_id": "c1", "text": "hello"}))
            conversation_id = (await next_of(ws, "ack"))["conversation_id"]
        await a.services.pipeline.settled()
        due = await pool.fetchval("SELECT first_response_due FROM conversations")
        # 10 minutes on Friday, 20 on Monday morning: 09:20 Paris.
        assert due == datetime(2026, 11, 30, 8, 20, tzinfo=UTC)
        before = await pool.fetchval("SELECT priority FROM conversations")

        clock.now = datetime(2026, 11, 30, 8, 19, tzinfo=UTC)  # Monday 09:19: not yet
        # A sweep at 09:19, run here rather than waited for, records nothing.
        assert await a.services.sweeps.sla() == 0
        assert await pool.fetchval("SELECT count(*) FROM sla_breaches") == 0

        clock.now = datetime(2026, 11, 30, 8, 21, tzinfo=UTC)  # 09:21: breached

        async def breached() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM sla_breaches"))

        await harness.until(breached)
        # Both nodes sweep again: the breach is recorded and announced once.
        assert await a.services.sweeps.sla() == 0
        assert await b.services.sweeps.sla() == 0
        assert await pool.fetchval("SELECT count(*) FROM sla_breaches") == 1
        assert await pool.fetchval("SELECT count(*) FROM events WHERE name = 'sla.breached'") == 1
        event = await pool.fetchval("SELECT data FROM events WHERE name = 'sla.breached'")
        assert event["kind"] == "first_response"
        assert event["notify_team_id"] is not None
        assert event["conversation"]["id"] == conversation_id
        counted = [
            s.services.metrics.sla_breaches.labels("first_response", band)._value.get()
            for s in (a, b)
            for band in ("urgent", "high", "normal", "low")
        ]
        assert sum(counted) == 1
        after = await pool.fetchrow("SELECT priority, priority_parts FROM conversations")
        assert after is not None
        assert after["priority"] == before + 25
        assert {"points": 25, "label": "escalated after SLA breach"} in after["priority_parts"]
        # Much later, the same deadline does not fire again.
        clock.now += timedelta(hours=2)
        assert await a.services.sweeps.sla() == 0
        assert (
            await pool.fetchval("SELECT count(*) FROM sla_breaches WHERE kind = 'first_response'")
            == 1
        )
        # One sweep lease between the two nodes (beside each node's own routing:<node> lease).
        assert (
            await pool.fetchval("SELECT count(*) FROM leases WHERE name NOT LIKE 'routing:%'") == 1
        )
