"""Prometheus metrics, in a registry of their own so several apps can live in one process."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
FIRST_RESPONSE_BUCKETS = (
    15.0, 30.0, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
    HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, DAY, 2 * DAY,
)  # fmt: skip
RESOLUTION_BUCKETS = (
    MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR,
    DAY, 2 * DAY, 4 * DAY, 7 * DAY, 14 * DAY,
)  # fmt: skip

# Stages last from a fraction of a millisecond (a statement) to seconds (a DATA held for room).
STAGE_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 10.0,
)  # fmt: skip


class Metrics:
    """The server's counters, gauges and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages_in = Counter(
            "switchboard_messages_in_total", "Customer messages stored", ["channel"], registry=r
        )
        self.messages_out = Counter(
            "switchboard_messages_out_total",
            "Bot, agent and system messages stored",
            ["channel", "author"],
            registry=r,
        )
        self.ingest_seconds = Histogram(
            "switchboard_ingest_seconds",
            "Time to store and publish one inbound message (routing follows)",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.nlu_seconds = Histogram(
            "switchboard_nlu_seconds",
            "Time to interpret one customer message (engine, language, sentiment)",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=r,
        )
        # Where an inbound message's time goes between its arrival and the console, stage by
        # stage (issue 14: mail held its pending place 60-80 ms with the cores not busy, and
        # nothing said where it waited). A stage's name says what it ends with; "batch" is
        # observed once per batch (a shared transaction), the others once per message.
        self.stage_seconds = Histogram(
            "switchboard_stage_seconds",
            "Time an inbound message spends in each stage of its path to the console, by"
            " channel (mail: room, receipt, queued, parse, understand, store, batch, publish,"
            " console)",
            ["channel", "stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.handoffs = Counter(
            "switchboard_handoffs_total",
            "Conversations handed from the bot to a human",
            ["reason"],
            registry=r,
        )
        self.assignments = Counter(
            "switchboard_assignments_total",
            "Conversations given to an agent",
            ["how"],
            registry=r,
        )
        self.sla_breaches = Counter(
            "switchboard_sla_breaches_total",
            "SLA deadlines missed",
            ["kind", "band"],
            registry=r,
        )
        self.requeued = Counter(
            "switchboard_requeued_total",
            "Conversations put back in the queue when their agent went away",
            registry=r,
        )
        self.mail_received = Counter(
            "switchboard_mail_received_total",
            "Mail accepted over SMTP (stored before the 250)",
            registry=r,
        )
        self.mail_processed = Counter(
            "switchboard_mail_processed_total",
            "Mail receipts by what they became: stored, duplicate, report, quarantined",
            ["state"],
            registry=r,
        )
        self.deliveries = Counter(
            "switchboard_deliveries_total",
            "Outbox delivery attempts by outcome (sent, pending = retry, failed, suppressed)",
            ["channel", "status"],
            registry=r,
        )
        self.webhook_retries = Counter(
            "switchboard_webhook_retries_total",
            "Webhook deliveries the sender marked as a retry (Slack's X-Slack-Retry-Num)",
            ["channel"],
            registry=r,
        )
        self.events_published = Counter(
            "switchboard_events_published_total",
            "Events published on the bus",
            ["name"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "switchboard_queue_depth",
            "Work waiting between the steps of the flow: ingest (messages waiting for the"
            " database), route (stored messages waiting to be understood), mail (receipts"
            " waiting for a parser)",
            ["queue"],
            registry=r,
        )
        self.loop_lag = Gauge(
            "switchboard_event_loop_lag_seconds",
            "How late the event loop runs what is ready, smoothed (server/pipeline/pressure.py);"
            " past settings.overload_lag_ms new messages are refused",
            registry=r,
        )
        self.refused = Counter(
            "switchboard_refused_total",
            "Messages refused at capacity (not stored; the sender was told to retry later)",
            ["channel"],
            registry=r,
        )
        # Support work's clocks run from seconds (a quick reply) to days (a resolution over a
        # weekend): the buckets follow the steps a supervisor reads, 1 min, 5 min, 1 h, 1 day.
        # Labelled by brand slug and channel: both come from the database's own short lists
        # (brands, the four channels), never from what a customer typed.
        self.first_response_seconds = Histogram(
            "switchboard_first_response_seconds",
            "Human first response time: from the handoff to the agent's first reply"
            " (docs/metrics.md), observed when that reply is written",
            ["brand", "channel"],
            buckets=FIRST_RESPONSE_BUCKETS,
            registry=r,
        )
        self.resolution_seconds = Histogram(
            "switchboard_resolution_seconds",
            "Resolution time: from the conversation's start to its resolution"
            " (docs/metrics.md), observed at each resolution",
            ["brand", "channel"],
            buckets=RESOLUTION_BUCKETS,
            registry=r,
        )
        self.warm = Gauge(
            "switchboard_warm",
            "1 once a model the node loads in the background after it listens is loaded, 0"
            " while it loads or after its load failed (server/services/warm_up.py)",
            ["part"],
            registry=r,
        )
        self.ws_connections = Gauge(
            "switchboard_websocket_connections", "Open WebSocket connections", ["kind"], registry=r
        )
        self.ws_rejected = Counter(
            "switchboard_websocket_rejected_total",
            "WebSocket connections refused or closed for bad input",
            ["kind", "code"],
            registry=r,
        )

    def track_queue(self, name: str, depth: Callable[[], int]) -> None:
        self.queue_depth.labels(name).set_function(depth)

    def track_warm(self, part: str, warm: Callable[[], bool]) -> None:
        self.warm.labels(part).set_function(lambda: float(warm()))

    def track_connections(self, kind: str, count: Callable[[], int]) -> None:
        self.ws_connections.labels(kind).set_function(count)

    def render(self) -> bytes:
        return generate_latest(self.registry)
