"""A throwaway `redis-server` on 127.0.0.1 for tests: start, stop, restart, pause.

Started on a free port with no persistence (`--save '' --appendonly no`) in a
temporary directory; `stop` and `start` keep the port, so clients reconnect to
the same URL after a restart.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["RedisServer", "redis_server_path"]


def redis_server_path() -> str | None:
    """Returns the path of `redis-server`, or None when it is not installed."""
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process owned by the tests.

    Args:
        directory: Working directory (nothing is written there but logs).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's URL, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Starts the server and waits until it accepts connections."""
        binary = redis_server_path()
        assert binary is not None
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=log, cwd=self.directory)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2) as conn,
            ):
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.02)
        msg = f"redis-server did not start on port {self.port}"
        raise RuntimeError(msg)

    def stop(self) -> None:
        """Stops the server (its data is lost: nothing is persisted)."""
        if self.process is not None:
            self.resume()
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def pause(self) -> None:
        """Freezes the server (SIGSTOP): connections open, nothing answered."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Unfreezes a paused server."""
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGCONT)

    def flush(self) -> None:
        """Deletes every key."""
        with socket.create_connection(("127.0.0.1", self.port), 2) as conn:
            conn.sendall(b"FLUSHALL\r\n")
            conn.recv(16)
