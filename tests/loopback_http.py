"""What the small raw HTTP servers of the tests share: a quiet handler and a thread.

The replay server (recorded bytes), the bomb server (bodies too big to hold)
and the hostile server (echoed secrets) each answer in their own way; reading
the request and running on 127.0.0.1 in a daemon thread is the same for all.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator

__all__ = ["RequestHandler", "serving"]


class RequestHandler(http.server.BaseHTTPRequestHandler):
    """Reads every GET and POST (body included) and hands it to `answer`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and small pieces go out at once

    def log_message(self, format: str, *args: object) -> None:
        """Keeps the test output quiet."""

    def do_GET(self) -> None:
        self._read_and_answer()

    def do_POST(self) -> None:
        self._read_and_answer()

    def _read_and_answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.answer(self.rfile.read(length) if length else b"")

    def answer(self, body: bytes) -> None:
        """Writes the response to a request whose body was `body`."""
        raise NotImplementedError


@contextlib.contextmanager
def serving(server: http.server.HTTPServer) -> Iterator[None]:
    """Serves from a daemon thread for the duration of a `with` block, then closes."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
