"""Structured logging with structlog: key=value for people, JSON lines for collectors."""

from __future__ import annotations

import logging

import structlog

# uvicorn's line for an accepted WebSocket (its wsproto and legacy websockets
# implementations), and the websockets library's, which uvicorn's sans-I/O implementation (ours:
# server/http/app.py) sends to the same logger.
_HANDSHAKE_LINES = frozenset({'%s - "WebSocket %s" [accepted]', "connection open"})


class _SocketHandshakes(logging.Filter):
    """Drops the line for each WebSocket handshake (INFO on uvicorn's error logger), the
    access log of sockets, which the access logger's level does not reach. A reconnect storm
    is thousands a second, and rendering each as a JSON line took 10-14 % of a node's CPU
    (py-spy, issue 21); the socket counts are in /metrics (switchboard_websocket_connections).
    A refused handshake's line is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.INFO and record.msg in _HANDSHAKE_LINES)


def configure(level: str = "INFO", json: bool = False) -> None:
    """Route stdlib and structlog records through one renderer."""
    # Tracebacks without local variables: a frame's locals hold customer message text,
    # emails and tokens, and logs are read by more people than the database is. Log the error
    # and ids; the stored message is the place to read its body.
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
    ]
    if json:
        shared.append(
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            )
        )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log duplicates our own request metrics; keep its errors only.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    sockets = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _SocketHandshakes) for f in sockets.filters):
        sockets.addFilter(_SocketHandshakes())
    # pgserver logs every initdb/pg_ctl command line at INFO.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
