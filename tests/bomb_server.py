"""A hostile HTTP server on 127.0.0.1 that sends bodies too big to hold.

Each attack is generated lazily (nothing of its size is built in memory), sent
whatever was asked at ``/<attack>/chat/completions`` (and at ``/api/models/...``
for the Hub), until the client hangs up. Run by hand for the RSS figures:
``python -m tests.bomb_server --port 8766``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import threading
import time
import zlib
from collections.abc import Iterator
from itertools import chain

from tests.loopback_http import RequestHandler, serving

__all__ = ["ATTACKS", "BombServer"]

MiB = 1024 * 1024
_EVENT = b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'


def _gzip_bomb(size: int) -> bytes:
    """About `size` zero bytes gzip-compressed (1,000:1): a 300 MB bomb is 300 KB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * MiB
    parts = [compressor.compress(block) for _ in range(size // MiB)]
    return b"".join(parts) + compressor.flush()


def _endless(piece: bytes, total: int | None = None) -> Iterator[bytes]:
    sent = 0
    while total is None or sent < total:
        yield piece
        sent += len(piece)


def _trickle(piece: bytes, every: float) -> Iterator[bytes]:
    while True:
        time.sleep(every)
        yield piece


# attack -> (status, headers)
ATTACKS = {
    "gzip_bomb_answer": (200, {"Content-Type": "application/json", "Content-Encoding": "gzip"}),
    "gzip_bomb_stream": (200, {"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}),
    "long_sse_line": (200, {"Content-Type": "text/event-stream"}),
    "big_error_body": (500, {"Content-Type": "application/json"}),
    "endless_answer": (200, {"Content-Type": "application/json"}),
    "empty_event_flood": (200, {"Content-Type": "text/event-stream"}),
    "endless_stream": (200, {"Content-Type": "text/event-stream"}),
    "comments_after_token": (200, {"Content-Type": "text/event-stream"}),
}


def _body(attack: str, bomb: bytes) -> Iterator[bytes]:
    if attack.startswith("gzip_bomb"):
        return iter([bomb[i : i + 65536] for i in range(0, len(bomb), 65536)])
    if attack == "long_sse_line":
        return chain([b'data: {"a": "'], _endless(b"y" * 65536, 200 * MiB))
    if attack == "big_error_body":
        return chain([b'{"error": "'], _endless(b"e" * 65536, 200 * MiB), [b'"}'])
    if attack == "endless_answer":
        return chain([b'{"choices": [{"message": {"content": "'], _endless(b"z" * 65536))
    if attack == "comments_after_token":  # one token, then keep-alive comments forever
        return chain([_EVENT], _trickle(b": keep-alive\n\n", 0.05))
    if attack == "empty_event_flood":
        return _endless(b"data: {}\n\n" * 4096)
    return _endless(_EVENT * 1024)  # endless_stream


class _Handler(RequestHandler):
    server: _Server

    def answer(self, body: bytes) -> None:
        attack = self.path.strip("/").split("/")[0]
        if attack not in ATTACKS:
            self.send_error(404)
            return
        self.server.hits[attack] = self.server.hits.get(attack, 0) + 1
        status, headers = ATTACKS[attack]
        self.send_response_only(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with contextlib.suppress(OSError):  # the client hung up: the attack was stopped
            for piece in _body(attack, self.server.bomb):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    bomb: bytes
    hits: dict[str, int]


class BombServer:
    """Serves the attacks from a background thread."""

    def __init__(self, port: int = 0, bomb_mib: int = 300) -> None:
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.bomb = _gzip_bomb(bomb_mib * MiB)
        self._server.hits = {}
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def hits(self, attack: str) -> int:
        """How many requests an attack answered."""
        return self._server.hits.get(attack, 0)

    @classmethod
    @contextlib.contextmanager
    def running(cls, port: int = 0, bomb_mib: int = 300) -> Iterator[BombServer]:
        """Runs a server for the duration of a `with` block."""
        server = cls(port, bomb_mib)
        with serving(server._server):
            yield server


def main() -> None:
    """Serves the attacks until interrupted."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8766)
    port = parser.parse_args().port
    with BombServer.running(port) as server, contextlib.suppress(KeyboardInterrupt):
        print(f"serving attacks on {server.url}: {', '.join(ATTACKS)}")
        threading.Event().wait()


if __name__ == "__main__":
    main()
