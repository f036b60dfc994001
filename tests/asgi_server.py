"""A live ASGI server (uvicorn, the server of production and `make run`) on a free loopback port, in a thread of
the test process: streamed answers need an async server, which pytest-django's WSGI live_server is not."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn


class LiveAsgiServer:
    def __init__(self, app_path: str = "airisk.asgi:application", *, lifespan: str = "off") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app_path, log_level="warning", lifespan=lifespan, proxy_headers=False, timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveAsgiServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the ASGI server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self, timeout: float = 10) -> None:
        """As on SIGTERM: stop accepting, wait for open connections, then the lifespan shutdown (when on)."""
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()
