"""A scenario's figures: every message the clients offered, looked up in Postgres and in
what each widget and console showed."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field

import asyncpg

from bench.chaos.ledger import Ledger


@dataclass
class Figures:
    scenario: str
    sent: int = 0
    acked: int = 0
    stored: int = 0
    # Acknowledged messages shown by their customer's widget / by every console.
    to_widgets: int = 0
    to_consoles: int = 0
    # Acknowledged and not stored (the promise broken), or not shown where they should be.
    lost: int = 0
    undelivered_widget: int = 0
    undelivered_console: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    # Stored customer messages never understood and routed (no NLU result) once the backlog
    # stopped draining (_drain): their conversations reach neither the bot nor a queue.
    unrouted: int = 0
    # Those still unrouted when the scenario had settled and every sender was done, and the
    # seconds from then until none was left (None: it stopped draining, see ``unrouted``).
    backlog: int = 0
    drained_s: float | None = 0.0
    # Events of conversations outside a console's reach that reached it (checks.out_of_scope).
    out_of_scope: int = 0
    # Conversations given to a second person while the first still held them.
    assigned_twice: int = 0
    # People with a connected console the presence sweep marked away.
    away: int = 0
    # Conversations the retention rounds anonymised past those waiting (two nodes at once).
    retention_twice: int = 0
    # Replies to this run's messages (mail, Telegram, Slack) not received by the far side,
    # still waiting in the outbox once settled, and received more than once.
    out_lost: int = 0
    out_pending: int = 0
    out_duplicated: int = 0
    # The longest a customer waited between two acknowledgements, in seconds.
    recover_s: float = 0.0
    reconnects: int = 0
    # Widgets that never got their session (asked until the scenario ended).
    sessions_missing: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.out_of_order
            or self.undelivered_widget
            or self.undelivered_console
            or self.unrouted
            or self.out_of_scope
            or self.assigned_twice
            or self.away
            or self.retention_twice
            or self.out_lost
            or self.out_pending
            or self.sessions_missing
        )


async def count(scenario: str, ledger: Ledger, dsn: str, wait_stored: float = 60.0) -> Figures:
    """Read the ledger against Postgres. Mail is parsed after its 250, so wait (up to
    ``wait_stored`` seconds) for every acknowledged message to be stored."""
    acked = {m for m, s in ledger.sent.items() if s.acked_at is not None}
    deadline = time.monotonic() + wait_stored
    while True:
        stored = await _stored(ledger.run, dsn)
        if acked <= set(stored) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    f = Figures(scenario, sent=len(ledger.sent), acked=len(acked))
    f.stored = sum(1 for m in ledger.sent if m in stored)
    missing = sorted(acked - set(stored))
    f.lost = len(missing)
    if missing:
        f.notes.append("lost: " + ", ".join(missing[:5]))
    f.duplicated = sum(len(ids) - 1 for ids in stored.values() if len(ids) > 1)
    ids = {m: stored[m][0] for m in acked if m in stored}
    brand_of = await _brands(list(ids.values()), dsn)
    for n, seen in ledger.widget_seen.items():
        shown = Counter(i for i, _ in seen)
        twice = [i for i, c in shown.items() if c > 1]
        f.duplicated += sum(shown[i] - 1 for i in twice)
        if twice:
            f.notes.append(f"widget {n} showed messages {twice[:3]} more than once")
        highest = 0
        for _, seq in seen:
            if seq < highest:
                f.out_of_order += 1
            highest = max(highest, seq)
        for mark, entry in ledger.sent.items():
            if entry.kind == "webchat" and entry.owner == n and mark in ids:
                if ids[mark] in shown:
                    f.to_widgets += 1
                else:
                    f.undelivered_widget += 1
    consoles = {n: Counter(seen) for n, seen in ledger.console_seen.items()}
    for shown in consoles.values():
        f.duplicated += sum(c - 1 for c in shown.values() if c > 1)
    unseen: list[str] = []
    for mark, message_id in ids.items():
        # Every console whose person may see the message's brand must show it.
        missed = [
            n
            for n, shown in consoles.items()
            if message_id not in shown
            and _reaches(ledger.console_agent.get(n, ("", None))[1], brand_of.get(message_id))
        ]
        if missed:
            f.undelivered_console += 1
            unseen.append(f"{mark} (message {message_id}, consoles {missed})")
        else:
            f.to_consoles += 1
    if unseen:
        f.notes.append("not on a console: " + ", ".join(unseen[:5]))
        f.notes += await _miss_evidence(ledger, ids, consoles, brand_of, dsn)
    gaps = [b - a for times in ledger.ack_times.values() for a, b in itertools.pairwise(times)]
    f.recover_s = round(max(gaps, default=0.0), 1)
    f.backlog, f.drained_s, f.unrouted = await _drain(ledger.run, dsn)
    if f.backlog:
        f.notes.append(
            f"unrouted once settled: {f.backlog}, "
            + (
                f"all routed {f.drained_s:.1f} s later"
                if f.drained_s is not None
                else f"{f.unrouted} left when it stopped draining"
            )
        )
    f.reconnects = ledger.reconnects
    f.refusals = dict(ledger.refusals)
    sessions = ledger.sessions
    f.sessions_missing = len(ledger.widget_seen) - sessions.count
    f.notes.append(
        f"sessions: {sessions.count} of {len(ledger.widget_seen)} given"
        + (
            f" ({sessions.after_refusal} after a refusal, the longest in"
            f" {sessions.longest_wait:.1f} s)"
            if sessions.after_refusal
            else ""
        )
    )
    if ledger.resyncs:
        f.notes.append(f"{ledger.resyncs} console resyncs")
    return f


async def _miss_evidence(
    ledger: Ledger,
    ids: dict[str, int],
    consoles: dict[int, Counter[int]],
    brand_of: dict[int, str],
    dsn: str,
    most: int = 5,
) -> list[str]:
    """For the first messages a console missed: the id of their message.created event, when
    its transaction began, and what the console's sockets resumed from around then (Unix
    time, the id resumed after, the highest id seen, why), so a miss can be told apart: an
    event below a resume point committed after it (ids handed out in one order, committed in
    another), or one the harness's resume skipped."""
    conn = await asyncpg.connect(dsn)
    notes = []
    try:
        for message_id in sorted(ids.values()):
            missed = [
                n
                for n, shown in consoles.items()
                if message_id not in shown
                and _reaches(ledger.console_agent.get(n, ("", None))[1], brand_of.get(message_id))
            ]
            if not missed:
                continue
            row = await conn.fetchrow(
                "SELECT id, extract(epoch FROM created_at) AS began FROM events"
                " WHERE name = 'message.created' AND data->>'message_id' = $1",
                str(message_id),
            )
            event = f"event {row['id']} began {float(row['began']):.1f}" if row else "no event"
            for n in missed[:2]:
                near = [
                    r
                    for r in ledger.console_resumes.get(n, [])
                    if row is None or abs(r[0] - float(row["began"])) < 60
                ]
                notes.append(f"miss: message {message_id} ({event}) console {n} sockets {near}")
            most -= 1
            if most == 0:
                break
    finally:
        await conn.close()
    return notes


def _reaches(brands: frozenset[str] | None, brand: str | None) -> bool:
    return brands is None or brand in brands


async def _brands(message_ids: list[int], dsn: str) -> dict[int, str]:
    """The brand (slug) of each message's conversation."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT m.id, b.slug FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " JOIN brands b ON b.id = c.brand_id WHERE m.id = ANY($1::bigint[])",
            message_ids,
        )
    finally:
        await conn.close()
    return {r["id"]: r["slug"] for r in rows}


# The backlog of unrouted messages is watched while it drains: a node that routes a few
# a second under a load average of 15 is slow, not stuck. It is stuck once no message has been
# routed for STALL seconds; CAP bounds the wait however it goes.
STALL = 30.0
CAP = 900.0


async def _drain(run: str, dsn: str) -> tuple[int, float | None, int]:
    """This run's customer messages without an interpretation, watched until none is left:
    how many there were at first, the seconds until none was (None if it stalled), and how
    many were left then (0 when drained)."""
    began = time.monotonic()
    first: int | None = None
    fewest, progress_at = 0, began
    conn = await asyncpg.connect(dsn)
    try:
        while True:
            left: int = await conn.fetchval(
                "SELECT count(*) FROM messages WHERE author_kind = 'customer'"
                " AND nlu IS NULL AND text LIKE $1",
                f"%cx-{run}-%",
            )
            now = time.monotonic()
            if first is None:
                first = fewest = left
            if not left:
                return first, round(now - began, 1), 0
            if left < fewest:
                fewest, progress_at = left, now
            if now - progress_at > STALL or now - began > CAP:
                return first, None, left
            await asyncio.sleep(1.0)
    finally:
        await conn.close()


async def _stored(run: str, dsn: str) -> dict[str, list[int]]:
    """Each mark of this run found in a customer's stored message: the rows' ids."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id, substring(text from $1) AS mark FROM messages"
            " WHERE author_kind = 'customer' AND text LIKE $2 ORDER BY id",
            f"cx-{run}-[a-z]+-[0-9]+",
            f"%cx-{run}-%",
        )
    finally:
        await conn.close()
    found: dict[str, list[int]] = {}
    for row in rows:
        found.setdefault(row["mark"], []).append(row["id"])
    return found


HEADER = (
    "scenario",
    "sent",
    "acked",
    "stored",
    "to widgets",
    "to consoles",
    "lost",
    "dup",
    "out of order",
    "recover s",
    "routed after s",
    "reconnects",
    "out of scope",
    "assigned twice",
    "away",
    "out lost",
    "out dup",
)


def table(rows: list[Figures]) -> str:
    """The figures as a Markdown table, then each scenario's refusals and notes."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for f in rows:
        values = (
            f.scenario,
            f.sent,
            f.acked,
            f.stored,
            f.to_widgets,
            f.to_consoles,
            f.lost,
            f.duplicated,
            f.out_of_order,
            f.recover_s,
            "stuck" if f.drained_s is None else f.drained_s,
            f.reconnects,
            f.out_of_scope,
            f.assigned_twice,
            f.away,
            f.out_lost + f.out_pending,
            f.out_duplicated,
        )
        lines.append("| " + " | ".join(str(v) for v in values) + " |")
    for f in rows:
        extra = [f"{k}: {v}" for k, v in sorted(f.refusals.items())] + f.notes
        if f.unrouted:
            extra.append(f"unrouted (stopped draining): {f.unrouted}")
        if f.undelivered_widget or f.undelivered_console:
            extra.append(
                f"not shown: {f.undelivered_widget} widget, {f.undelivered_console} console"
            )
        if extra:
            lines.append(f"- {f.scenario}: " + "; ".join(extra))
    return "\n".join(lines)
