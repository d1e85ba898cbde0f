"""What the harness's clients did and saw: every message offered (a ``Sent`` with its mark),
what each widget and console was shown, refusals and reconnects; and the people and inboxes
the clients use. The figures (counts.py, checks.py) are read from it and from Postgres.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

AGENT_EMAIL = "agent@demo.switchboard.test"
AGENT_PASSWORD = "switchboard-demo"
# The consoles' people, in turn (server/services/demo.py), with the brands whose events each
# may receive (None: every brand): Dana the admin, Sam a supervisor of the demo brand, Noor an
# agent and Inès a supervisor of the second brand (its one team is Noor's).
CONSOLE_AGENTS: tuple[tuple[str, frozenset[str] | None], ...] = (
    (AGENT_EMAIL, None),
    ("sam@demo.switchboard.test", frozenset({"demo"})),
    ("noor@outdoor.switchboard.test", frozenset({"outdoor"})),
    ("ines@outdoor.switchboard.test", frozenset({"outdoor"})),
)
# The widgets' inboxes, in turn: every fourth writes to the second brand.
INBOXES = ("demo-web", "demo-web", "demo-web", "outdoor-web")


def backoff(attempt: int, base: float = 0.5, cap: float = 8.0) -> float:
    """Full jitter (the delay is uniform in [0, min(cap, base * 2^attempt)]): after a node or
    the proxy drops thousands of sockets at once they come back spread out, not in a wave."""
    return random.uniform(0, min(cap, base * 2**attempt))


@dataclass
class Sent:
    """One message a client offered, and what became of it."""

    mark: str
    kind: str  # webchat | mail
    sent_at: float
    owner: int  # the customer (or mail sender) number
    acked_at: float | None = None
    message_id: int | None = None
    attempts: int = 0


@dataclass
class WidgetState:
    conversation: str | None = None
    last_seq: int = 0


@dataclass
class Sessions:
    """The widgets' session requests: how many were given, how many of those only after a
    refusal (a node away, the database down), and the longest such wait, in seconds."""

    count: int = 0
    after_refusal: int = 0
    longest_wait: float = 0.0

    def given(self, waited: float, refused: bool) -> None:
        self.count += 1
        if refused:
            self.after_refusal += 1
            self.longest_wait = max(self.longest_wait, waited)


@dataclass
class Ledger:
    """Everything the clients saw; the scenario's figures are read from it and Postgres."""

    run: str
    sent: dict[str, Sent] = field(default_factory=dict)
    # Per widget: the message ids its stream showed, in arrival order, and their seqs.
    widget_seen: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    # Per console: the message ids of the message.created events it received.
    console_seen: dict[int, list[int]] = field(default_factory=dict)
    # Per console: the conversations of every event it received (its scope is checked).
    console_conversations: dict[int, set[str]] = field(default_factory=dict)
    # Per console: who it logged in as, and the brands it may see (None: all).
    console_agent: dict[int, tuple[str, frozenset[str] | None]] = field(default_factory=dict)
    # Per console: (Unix time, the event id it resumed after, the highest it had seen, why)
    # per socket.
    console_resumes: dict[int, list[tuple[float, int, int, str]]] = field(default_factory=dict)
    # Per customer: times of its acks (the longest gap is the time to recover it saw).
    ack_times: dict[int, list[float]] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)
    sessions: Sessions = field(default_factory=Sessions)
    reconnects: int = 0
    resyncs: int = 0
    serial: int = 0

    def new(self, kind: str, owner: int) -> Sent:
        self.serial += 1
        entry = Sent(f"cx-{self.run}-{kind}-{self.serial}", kind, time.monotonic(), owner)
        self.sent[entry.mark] = entry
        return entry

    def refused(self, why: str) -> None:
        self.refusals[why] = self.refusals.get(why, 0) + 1
