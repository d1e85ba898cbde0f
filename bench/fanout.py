"""`make bench`'s fan-out part: what one router pass assigning 100 conversations costs each
connected console, now that the queue travels as queue.changed events, against the console
before them, which re-read GET /console/api/queue after every conversation event.

One `switchboard serve` process on an embedded Postgres; 50 consoles (WebSocket clients in
this process, signed in as an agent of the support and billing teams) connected; 1,000
conversations wait in the billing queue that the pass cannot give anyone (so the queue the
old console read is realistic); 100 wait in the support queue for one agent, away with room
for all 100, who then comes online: one pass assigns them.

- **events** (the console now): each console receives a conversation.updated and a
  queue.changed per assigned conversation and reads nothing.
- **re-read** (the console before, replayed by these clients against the same server): on each
  conversation.updated it (re)starts a 150 ms timer and reads the whole ranked queue when it
  fires, as console.js's refreshQueue did; the queue.changed frames the server now also sends
  are left out of its figures (the old server did not send them).

Figures per console: frames and bytes received (WebSocket payloads and HTTP bodies), queue
reads, and the server process's CPU time (user + system, psutil) over the whole round divided
by the consoles; the router's own work is in both rounds alike. BENCH_FANOUT_CONSOLES,
BENCH_FANOUT_ASSIGNED and BENCH_FANOUT_BACKLOG set the sizes (bench/sizes.py). Run alone with
`python -m bench.fanout` or BENCH_ONLY=fanout.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import psutil
import uvloop
from websockets.asyncio.client import ClientConnection, connect

from bench.processes import switchboard
from bench.report import machine, publish
from bench.sizes import FANOUT_ASSIGNED, FANOUT_BACKLOG, FANOUT_CONSOLES
from server.services import demo
from server.store import database

START, END = "<!-- fanout:start -->", "<!-- fanout:end -->"
LEA = "lea@demo.switchboard.test"  # agent: support and billing (sees both queues)
SAM = "sam@demo.switchboard.test"  # takes the support queue (support, technical)
DEBOUNCE = 0.15  # console.js's refreshQueue, before queue.changed
QUEUE_SQL = """
    WITH brand AS (SELECT b.id AS brand_id, i.id AS inbox_id, t.id AS team_id
                     FROM brands b JOIN inboxes i ON i.brand_id = b.id
                     JOIN teams t ON t.brand_id = b.id AND t.slug = $2
                    WHERE b.slug = 'demo' LIMIT 1),
         c AS (INSERT INTO contacts (brand_id, name)
               SELECT brand_id, 'c' || n FROM brand, generate_series(1, $1) n
               RETURNING id, brand_id)
    INSERT INTO conversations (brand_id, inbox_id, contact_id, channel, status, team_id,
                               required_skills, priority, priority_parts, band, queued_at)
    SELECT c.brand_id, brand.inbox_id, c.id, 'webchat', 'queued', brand.team_id, '{}',
           (random() * 100)::int, '[]', 'normal', now()
      FROM c, brand"""


@dataclass
class Console:
    """One console's socket and what it received in a round."""

    ws: ClientConnection
    frames: int = 0
    bytes: int = 0
    reads: int = 0
    read_bytes: int = 0
    updates: int = 0
    timer: asyncio.TimerHandle | None = None
    pending: set[asyncio.Task[None]] = field(default_factory=set)


async def seed(dsn: str) -> None:
    pool = await database.create_pool(dsn, min_size=1, max_size=2)
    try:
        await database.migrate(pool)
        await demo.seed(pool)
        await pool.execute(
            "UPDATE agents SET status = 'away', capacity = $2 WHERE email = $1",
            SAM,
            FANOUT_ASSIGNED,
        )
        await pool.execute(QUEUE_SQL, FANOUT_BACKLOG, "billing")
    finally:
        await pool.close()


async def signed_in(base: str, email: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=base, timeout=60)
    login = {"email": email, "password": demo.AGENT_PASSWORD}
    assert (await http.post("/console/api/login", json=login)).status_code == 200
    return http


async def one_round(base: str, dsn: str, pid: int, *, reread: bool) -> tuple[dict[str, float], int]:
    """Queue FANOUT_ASSIGNED support conversations, connect the consoles, bring the taker
    online and wait until every console has them all assigned (and, re-reading, its last
    queue read answered). Per-console figures, and the queue's length the reads saw."""
    sam, lea = await signed_in(base, SAM), await signed_in(base, LEA)
    await sam.post("/console/api/me/status", json={"status": "offline"})
    pool = await asyncpg.connect(dsn)
    try:
        await pool.execute("UPDATE conversations SET status = 'resolved' WHERE status = 'assigned'")
        await pool.execute(QUEUE_SQL, FANOUT_ASSIGNED, "support")
    finally:
        await pool.close()
    last = (await lea.get("/console/api/conversations")).json()["last_event_id"]
    cookie = "; ".join(f"{k}={v}" for k, v in lea.cookies.items())
    url = base.replace("http://", "ws://") + "/console/ws"
    consoles = []
    for _ in range(FANOUT_CONSOLES):
        ws = await connect(url, additional_headers={"cookie": cookie}, max_size=None)
        await ws.send(orjson.dumps({"type": "hello", "last_event_id": last}).decode())
        while orjson.loads(await ws.recv())["type"] != "welcome":
            pass
        consoles.append(Console(ws))
    queue_length = 0

    async def read_queue(console: Console) -> None:
        nonlocal queue_length
        response = await lea.get("/console/api/queue")
        console.reads += 1
        console.read_bytes += len(response.content)
        queue_length = len(response.json()["queue"])

    def fire(console: Console) -> None:
        task = asyncio.get_running_loop().create_task(read_queue(console))
        console.pending.add(task)
        task.add_done_callback(console.pending.discard)

    async def listen(console: Console) -> None:
        while console.updates < FANOUT_ASSIGNED:
            raw = await console.ws.recv()
            frame: dict[str, Any] = orjson.loads(raw)
            if frame.get("type") != "event":
                continue
            if reread and frame["name"] == "queue.changed":
                continue  # the old server did not send these
            console.frames += 1
            console.bytes += len(raw)
            if frame["name"] == "conversation.updated" and frame["data"].get("change") == (
                "assigned:auto"
            ):
                console.updates += 1
                if reread:
                    if console.timer is not None:
                        console.timer.cancel()
                    console.timer = asyncio.get_running_loop().call_later(DEBOUNCE, fire, console)
        if not reread:
            # The last assignment's queue.changed follows its conversation.updated.
            while True:
                raw = await console.ws.recv()
                frame = orjson.loads(raw)
                if frame.get("type") == "event":
                    console.frames += 1
                    console.bytes += len(raw)
                    if frame["name"] == "queue.changed":
                        break
        else:
            await asyncio.sleep(DEBOUNCE * 2)
            while console.pending:
                await asyncio.gather(*console.pending)

    server = psutil.Process(pid)
    before = server.cpu_times()
    await sam.post("/console/api/me/status", json={"status": "online"})
    await asyncio.wait_for(asyncio.gather(*(listen(c) for c in consoles)), timeout=600)
    after = server.cpu_times()
    for console in consoles:
        await console.ws.close()
    await sam.aclose()
    await lea.aclose()
    n = len(consoles)
    cpu = (after.user - before.user) + (after.system - before.system)
    return {
        "frames": sum(c.frames for c in consoles) / n,
        "bytes": sum(c.bytes + c.read_bytes for c in consoles) / n,
        "reads": sum(c.reads for c in consoles) / n,
        "cpu_ms": cpu * 1000 / n,
    }, queue_length


async def measure(base: str, dsn: str, pid: int) -> list[tuple[str, dict[str, float], int]]:
    events, _ = await one_round(base, dsn, pid, reread=False)
    rereads, length = await one_round(base, dsn, pid, reread=True)
    return [("events (queue.changed)", events, 0), ("re-read (before)", rereads, length)]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="sbfanout") as tmp:
        pg = database.EmbeddedPostgres(Path(tmp))
        dsn = pg.start()
        try:
            uvloop.run(seed(dsn))
            env = {
                "SWITCHBOARD_DATABASE_URL": dsn,
                "SWITCHBOARD_DATA_DIR": tmp,
                "SWITCHBOARD_LOG_LEVEL": "WARNING",
                "SWITCHBOARD_NLU_ENGINE": "none",
            }
            with switchboard(env) as sb:
                rounds = uvloop.run(measure(sb.base_url, dsn, sb.child.pid))
        finally:
            pg.stop()
    lines = [
        "## Console fan-out: a router pass assigning "
        f"{FANOUT_ASSIGNED} conversations, {FANOUT_CONSOLES} consoles connected",
        "",
        f"Command: `make bench` (or `python -m bench.fanout`). Machine: {machine()}. "
        "Server, Postgres and the consoles share these cores.",
        "",
        f"{FANOUT_BACKLOG} more conversations wait in a queue the pass cannot assign, so a "
        "queue read returns them all. Per console:",
        "",
        "| console | frames | queue reads | bytes received | server CPU |",
        "|---|---|---|---|---|",
    ]
    for name, figures, length in rounds:
        reads = f"{figures['reads']:.1f}" + (f" ({length} entries each)" if length else "")
        lines.append(
            f"| {name} | {figures['frames']:.0f} | {reads} | "
            f"{figures['bytes'] / 1024:.1f} KiB | {figures['cpu_ms']:.1f} ms |"
        )
    events, before = rounds[0][1], rounds[1][1]
    lines += [
        "",
        f"Bytes per console: {before['bytes'] / max(events['bytes'], 1):.1f}x fewer with "
        f"queue.changed; server CPU per console: "
        f"{before['cpu_ms'] / max(events['cpu_ms'], 0.001):.1f}x less. The baseline is the "
        "old console's behaviour replayed against today's server (its conversation.updated "
        "frames and debounced queue reads), not the old server itself.",
    ]
    publish("\n".join(lines), START, END)


if __name__ == "__main__":
    main()
