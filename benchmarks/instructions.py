"""CPU instructions per call and per chunk, side by side, counted by valgrind.

CPU time on a shared machine moves by 20-50 % from one run to the next; the
number of instructions a process executes does not. Each case runs in a
child process under `valgrind --tool=cachegrind` twice, with `k1` and `k2`
calls after a warm-up; the difference divided by `k2 - k1` (and by the
chunks, for the per-chunk cases) is the cost of one call, imports and
warm-up excluded. Garbage collection stays on, as in an application.

Cases (same loopback server as `calls_cpu`, a child process):
- short (5-token) stream on a warm model, sync and async;
- short stream on a freshly built model (construction included), sync and async;
- per chunk of a 500-chunk stream, sync and async.

Run: `.venv/bin/python -m benchmarks.instructions [--jobs 2]` (needs `valgrind`;
about 10 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from langchain_core.language_models import BaseChatModel

from benchmarks.calls_cpu import model_makers
from benchmarks.stream_cpu import sse_body, start_server

LONG_CHUNKS = 500
# case: (server, mode, fresh model per call, k1, k2, units per call)
CASES: dict[str, tuple[str, str, bool, int, int, int]] = {
    "short stream, sync": ("short", "sync", False, 10, 40, 1),
    "short stream, async": ("short", "async", False, 10, 40, 1),
    "fresh model, sync": ("short", "sync", True, 10, 40, 1),
    "fresh model, async": ("short", "async", True, 10, 40, 1),
    "per chunk (500), sync": ("long", "sync", False, 2, 6, LONG_CHUNKS),
    "per chunk (500), async": ("long", "async", False, 2, 6, LONG_CHUNKS),
}


def child(url: str, name: str, mode: str, fresh: bool, calls: int) -> None:
    """Runs the calls measured by the parent (under valgrind)."""
    make: Callable[[], BaseChatModel] = model_makers(url)[name]
    model = make()
    loop = asyncio.new_event_loop()

    async def one() -> None:
        async for _ in (make() if fresh else model).astream("hi"):
            pass

    def run() -> None:
        if mode == "async":
            loop.run_until_complete(one())
        else:
            for _ in (make() if fresh else model).stream("hi"):
                pass

    for _ in range(3 + calls):  # 3 warm-up calls: connection, caches
        run()


def _instructions(url: str, name: str, case: str, calls: int) -> int:
    _, mode, fresh, *_ = CASES[case]
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "benchmarks.instructions",
        "--child",
        url,
        name,
        mode,
        str(int(fresh)),
        str(calls),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        msg = f"no instruction count in valgrind's output: {done.stderr[-500:]}"
        raise RuntimeError(msg)
    return int(found.group(1).replace(",", ""))


def measure(urls: dict[str, str], name: str, case: str) -> float:
    """Returns the instructions of one call (or chunk) of `case` for model `name`."""
    server, _, _, k1, k2, units = CASES[case]
    low = _instructions(urls[server], name, case, k1)
    high = _instructions(urls[server], name, case, k2)
    return (high - low) / (k2 - k1) / units


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs at once")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, name, mode, fresh, calls = args.child
        child(url, name, mode, fresh == "1", int(calls))
        return
    if shutil.which("valgrind") is None:
        sys.exit("benchmarks.instructions needs valgrind (apt-get install valgrind)")
    short_url, short = start_server(sse_body(5))
    long_url, long = start_server(sse_body(LONG_CHUNKS))
    urls = {"short": short_url, "long": long_url}
    names = list(model_makers(short_url))
    try:
        with ThreadPoolExecutor(args.jobs) as pool:
            futures = {
                (case, name): pool.submit(measure, urls, name, case)
                for case in CASES
                for name in names
            }
            for case in CASES:
                results = {name: futures[case, name].result() for name in names}
                floor = results["minimal"]
                row = "  ".join(
                    f"{n} {v / 1e3:8.1f} k ({v / floor:4.2f}x)" for n, v in results.items()
                )
                print(f"{case:<24} {row}", flush=True)
    finally:
        short.terminate()
        long.terminate()


if __name__ == "__main__":
    main()
