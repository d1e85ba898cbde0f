"""An ASGI app served by uvicorn in a thread of its own, on a fixed loopback port: the
cluster's nodes (other processes) reach it whatever the caller's event loop is doing, and it
can be stopped and started again on the same port (a stand-in that goes down)."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from bench.processes import free_port


class ThreadedApp:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_config=None, access_log=False,
            lifespan="off",
        )  # fmt: skip
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"a stand-in did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        self._server = None
