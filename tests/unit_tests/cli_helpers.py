"""Helpers of the command-line tests: run the CLI in a subprocess, or on a pseudo-terminal."""

from __future__ import annotations

import fcntl
import io
import os
import re
import select
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

from langchain_hfapi._cli import main
from tests.conftest import TOKEN
from tests.router_server import RouterServer

ROOT = Path(__file__).resolve().parent.parent.parent
LLAMA = "meta-llama/Llama-3.3-70B-Instruct"
DEAD = "http://127.0.0.1:9"  # the discard port: nothing listens there


def urls(router: RouterServer) -> list[str]:
    return ["--router-url", router.url, "--hub-url", router.url]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: the test token, this checkout importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_ENDPOINT")}
    return {**env, "HF_TOKEN": TOKEN, "PYTHONPATH": str(ROOT), "TERM": "dumb", **extra}


def run_cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Runs `python -m langchain_hfapi ARGS` with separate stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "langchain_hfapi", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=env or cli_env(),
        check=False,
    )


def run_main(*args: str) -> tuple[int, str, str]:
    """Runs the CLI in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def console_script() -> str:
    """The `langchain-hfapi` script installed next to this interpreter."""
    return str(Path(sys.executable).parent / "langchain-hfapi")


def _controlling_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """The CLI on a pseudo-terminal: type lines, press Ctrl-C/Ctrl-D, read the screen."""

    def __init__(self, *args: str) -> None:
        master, slave = os.openpty()
        self.master = master
        self.screen = ""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "langchain_hfapi", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=cli_env(),
            start_new_session=True,
            preexec_fn=_controlling_terminal,
        )
        os.close(slave)

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def ctrl(self, key: str) -> None:
        os.write(self.master, bytes([ord(key.upper()) - 64]))

    def expect(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        """Reads until `pattern` appears after the last match; returns the match."""
        deadline = time.monotonic() + timeout
        start = getattr(self, "_pos", 0)
        while True:
            match = re.compile(pattern).search(self.screen, start)
            if match:
                self._pos = match.end()
                return match
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} not seen; screen:\n{self.screen}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:  # the other side closed
                    data = b""
                if not data and self.process.poll() is not None:
                    raise AssertionError(f"{pattern!r} not seen; screen:\n{self.screen}")
                self.screen += data.decode(errors="replace").replace("\r\n", "\n")

    def wait(self, timeout: float = 20) -> int:
        return self.process.wait(timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        os.close(self.master)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
