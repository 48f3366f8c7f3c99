"""A tiny hostile HTTP server on 127.0.0.1 that echoes the caller's secrets back.

Every answer quotes the request's `Authorization` header, a token that was never
configured and a URL with a password, in the body and in the headers: the
package must not let any of them into an error, a warning or a log line.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

from tests.loopback_http import serving

FOREIGN_TOKEN = "hf_ForeignUserToken0123456789abcdefgh"  # fake, shaped like a real one
URL_PASSWORD = "hunter2hunter2"  # fake
Reply = Literal["4xx", "500", "stream_error", "error_after_token", "bad_status_line"]


class HostileServer:
    """Echoes `Authorization` back in error bodies, stream events and headers.

    Attributes:
        reply: What every chat request gets: `"4xx"` (OpenAI-style JSON error
            with the status `status`),
            `"500"` (plain text), `"stream_error"` (a 200 event stream whose
            first event is an error), `"error_after_token"` (a token, then an
            error event), `"bad_status_line"` (an HTTP status line quoting the
            header, which the HTTP parser quotes in its exception). Hub
            requests always get a 500 that echoes.
        status: The status of the `"4xx"` reply (400 unless changed).
        requests: Number of requests received.
    """

    def __init__(self) -> None:
        self.reply: Reply = "4xx"
        self.status = 400
        self.requests = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Keeps the test output quiet."""

            def do_GET(self) -> None:
                server.count()
                self._send(500, "text/plain", f"hub failed for {self._echo()}".encode())

            def do_POST(self) -> None:
                server.count()
                self.rfile.read(int(self.headers.get("content-length") or 0))
                echo = self._echo()
                if server.reply == "4xx":
                    body = {"error": {"message": f"bad request from {echo}", "type": "invalid"}}
                    self._send(server.status, "application/json", json.dumps(body).encode())
                elif server.reply == "500":
                    self._send(500, "text/plain", f"upstream said: {echo}".encode())
                elif server.reply == "bad_status_line":
                    self.wfile.write(f"HTTP/1.1 2x0 {echo}\r\n\r\n".encode())
                    self.close_connection = True
                else:
                    token = {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}
                    events = [token] if server.reply == "error_after_token" else []
                    events.append({"error": f"stream broke for {echo}"})
                    data = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
                    self._send(200, "text/event-stream", data)

            def _echo(self) -> str:
                auth = self.headers.get("authorization", "")
                return (
                    f"Authorization: {auth} (raw {auth[7:]}), also {FOREIGN_TOKEN}, "
                    f"see https://admin:{URL_PASSWORD}@internal.example/x"
                )

            def _send(self, status: int, kind: str, body: bytes) -> None:
                auth = self.headers.get("authorization", "")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Request-Id", f"req {auth}")
                self.send_header("X-Error-Message", f"echo {auth}")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:54321`."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def count(self) -> None:
        """Counts one request."""
        with self._lock:
            self.requests += 1

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[HostileServer]:
        """Serves in a daemon thread for the duration of a `with` block."""
        server = cls()
        with serving(server._httpd):
            yield server
