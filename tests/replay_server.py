"""A loopback HTTP server that answers with recorded responses, byte for byte.

Each response is registered under a key and served at ``/r/<key>/<pieces>/...``
whatever was asked (method and body are read and ignored). ``<pieces>`` is 0
for a body with ``Content-Length``; any other number sends the body with
chunked transfer encoding in pieces of 1 to ``<pieces>`` bytes (a fixed
pseudo-random sequence; longer pieces for bodies over ``<pieces>`` KB), so
that the client reads lines, events and UTF-8 characters split across reads:
httpx hands each chunk over as it arrives.
"""

from __future__ import annotations

import contextlib
import http.server
import random
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from tests.loopback_http import RequestHandler, serving

__all__ = ["ReplayServer", "Served"]

# Headers that describe the recorded framing, not the body we send.
_FRAMING = frozenset({"content-length", "transfer-encoding", "content-encoding", "connection"})


@dataclass(frozen=True)
class Served:
    """One response to serve: status, headers (as recorded) and body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class _Handler(RequestHandler):
    server: _Server

    def answer(self, body: bytes) -> None:
        parts = self.path.split("/")
        served = self.server.responses.get(parts[2]) if len(parts) > 3 else None
        if served is None:
            self.send_error(404, "no such recording")
            return
        self.server.hits[parts[2]] += 1
        pieces = int(parts[3])
        self.send_response_only(served.status)
        for name, value in served.headers.items():
            if name.lower() not in _FRAMING:
                self.send_header(name, value)
        if pieces == 0:
            self.send_header("Content-Length", str(len(served.body)))
            self.end_headers()
            self.wfile.write(served.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        rand = random.Random(len(served.body))
        body, start = served.body, 0
        most = max(pieces, len(body) // 1000)  # a long body: up to ~2,000 pieces
        while start < len(body):
            piece = body[start : start + rand.randint(1, most)]
            start += len(piece)
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    responses: dict[str, Served]
    hits: Counter[str]


class ReplayServer:
    """Serves registered responses on 127.0.0.1 from a background thread."""

    def __init__(self) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.responses = {}
        self._server.hits = Counter()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, key: str, served: Served) -> None:
        """Registers a response under `key` (a path segment without "/")."""
        self._server.responses[key] = served

    def base_url(self, key: str, pieces: int = 0) -> str:
        """The `base_url` whose `/chat/completions` answers with `key`'s response."""
        return f"{self.url}/r/{key}/{pieces}"

    def hits(self, key: str) -> int:
        """How many requests `key`'s response answered."""
        return self._server.hits[key]

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[ReplayServer]:
        """Runs a server for the duration of a `with` block."""
        server = cls()
        with serving(server._server):
            yield server
