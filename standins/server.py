"""Serve an ASGI app on a free loopback port in a background thread (tests and the demo)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


class LoopbackServer:
    """A uvicorn server bound to 127.0.0.1 on a port the OS picked; ``url`` has no trailing /."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0,
                 tls: tuple[str, str] | None = None) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Inherited by accepted connections: without it a response written as headers + body
        # waits for the client's delayed ACK (~40 ms per request on Linux loopback).
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{self.host}:{self.port}"
        certfile, keyfile = tls or (None, None)
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                                ssl_certfile=certfile, ssl_keyfile=keyfile)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name=f"loopback-{self.port}", daemon=True)

    def start(self, timeout: float = 10.0) -> LoopbackServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=2)
        if self._thread.is_alive():  # a client left a TLS connection open: do not wait on it
            self._server.force_exit = True
            self._thread.join(timeout=10)
        self._sock.close()


@contextmanager
def serving(app: Any, *, port: int = 0,
            tls: tuple[str, str] | None = None) -> Iterator[LoopbackServer]:
    """``with serving(app) as server: httpx.get(server.url + "/health")``; ``tls`` is a
    (certificate file, key file) pair for HTTPS (see ``standins.tls``)."""
    server = LoopbackServer(app, port=port, tls=tls).start()
    try:
        yield server
    finally:
        server.stop()
