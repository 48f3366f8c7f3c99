"""Worker processes sharing provider health through the process store or Redis.

Runs, side by side in one invocation, `--workers` processes x `--streams`
concurrent lanes each (asyncio `astream`, or `--mode sync`: one thread per
lane), every lane running `--rounds` streams one after the other, against the
fake router of `tests.router_server` in a child process: `FAILING` fails
`--failure-rate` of its requests with a 503, the mapping comes from its fake
Hub. Three scenarios, each with a fresh router and fresh per-process state:

- `process`: the default store (`PROCESS_STORE`), every worker on its own;
- `redis`: a `RedisStore` on a redis-server this script starts on a free
  127.0.0.1 port in a temporary directory (stopped at the end);
- `redis-stop`: the same, and redis-server is stopped once `--stop-at` of the
  streams are done (restarted `--restart-after` s later; < 0: never).

Every stream must be exact: its whole content equal to the answer of the
provider that served it (`response_metadata["provider"]`, from the router's
header), so nothing lost or repeated; or else end in a typed error. Failed
requests to `FAILING` (injected failures), chat and Hub requests are counted by
the server; skips, circuit openings, Redis warnings and errors by the workers.

Latency added by the store, measured where it is spent: each worker's model
gets a `StateStore` that delegates to the real one (`load_probe.timed_store`)
and adds the wall time of every store operation to the calling stream
(a `ContextVar`: per asyncio task, or thread). Two figures per stream, p50 and
p99 over streams:

- health: admit, record and cooldown operations. They are synchronous; in
  async calls with Redis they run on the package's health threads (the loop
  goes on), with the process store inline (no I/O). "health % of wall" is
  their sum over the worker's wall time (the largest worker's);
- mapping: the Hub mapping lookup, which on a miss includes waiting for the
  Hub request (single flight) and, in async mode, for the loop.

End-to-end stream latencies (and their difference from the `process` column)
are printed as context only: they include retry back-offs and CPU contention
of all processes on the host, so they move by more than the store between runs.

Run: `.venv/bin/python -m benchmarks.load_shared` (8 x 250 x 2 rounds), or
smaller: `--workers 2 --streams 20`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.load import FAILING, free_port, server_stats, start_server
from benchmarks.load_probe import Job, Outcome, worker

SCENARIOS = ("process", "redis", "redis-stop")


def _stopper(redis: Any, progress: Any, at: int, restart_after: float, log: list[str]) -> None:
    """Stops redis-server once `at` streams are done; restarts it later if asked."""
    began = time.monotonic()
    while progress.value < at:
        time.sleep(0.005)
    redis.stop()
    log.append(f"stopped after {progress.value} streams ({time.monotonic() - began:.1f} s)")
    if restart_after >= 0:
        time.sleep(restart_after)
        redis.start()
        log.append(f"restarted {restart_after:g} s later, at {progress.value} streams")


def _scenario(name: str, args: argparse.Namespace, workers: list[Any], progress: Any,
              redis: Any) -> dict[str, Any]:  # fmt: skip
    """Runs one scenario in every worker; returns its merged outcome and server counts."""
    port = free_port()
    server = start_server(port, args.failure_rate, "status")
    url, total, stops = f"http://127.0.0.1:{port}", Outcome(), list[str]()
    try:
        redis_url = None if name == "process" else redis.url
        progress.value = 0
        stopper = None
        if name == "redis-stop":
            at = int(args.stop_at * args.workers * args.streams * args.rounds)
            stopper = threading.Thread(
                target=_stopper, args=(redis, progress, at, args.restart_after, stops)
            )
            stopper.start()
        job = Job(url, redis_url, f"load-{name}-{time.time_ns()}", args, time.time() + 0.3)
        began = time.monotonic()
        for conn in workers:
            conn.send(job)
        for conn in workers:
            total.add(conn.recv())
        wall = time.monotonic() - began
        if stopper is not None:
            stopper.join()
            if redis.process is None:
                redis.start()  # for a later run in the same process
        stats = server_stats(url)
    finally:
        server.terminate()
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()
    return {
        "outcome": total,
        "stats": stats,
        "wall": wall,
        "stops": stops,
        "async": args.mode == "async",
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else float("nan")


def _column(r: dict[str, Any], base: dict[str, Any] | None) -> dict[str, str]:
    """One scenario's cells, by row label."""
    o, stats = r["outcome"], r["stats"]

    def ms(values: list[float], q: float, minus: list[float] | None = None) -> str:
        return f"{1000 * (_pct(values, q) - (_pct(minus, q) if minus else 0)):.3g}"

    cells = {
        "streams": o.streams,
        "completed (exact)": o.completed,
        "typed errors": sum(o.typed.values()),
        "untyped errors": o.untyped,
        "wrong contents": o.wrong,
        f"failed reqs to {FAILING}": stats["failures_injected"],
        "chat requests": stats["chat_requests"],
        "hub requests": stats["hub_requests"],
        "skips (cooling down)": o.skips,
        f"{FAILING} circuit opened": o.events[f"log DEBUG: {FAILING} open"],
        "store ops / on fallback": f"{o.store_ops}/{o.fallback_ops}",
        "health ms/stream p50": ms(o.health, 0.5),
        "health ms/stream p99": ms(o.health, 0.99),
        "mapping ms/stream p50": ms(o.mapping, 0.5),
        "mapping ms/stream p99": ms(o.mapping, 0.99),
        "health % of wall (max)": f"{100 * max(o.busy):.2g}" if r["async"] else "-",
        "e2e ms p50": ms(o.latency, 0.5),
        "e2e ms p99": ms(o.latency, 0.99),
        "e2e p50 - process, ms": ms(o.latency, 0.5, base and base["outcome"].latency),
        "e2e p99 - process, ms": ms(o.latency, 0.99, base and base["outcome"].latency),
        "wall s": f"{r['wall']:.1f}",
    }
    return {label: str(value) for label, value in cells.items()}


def print_table(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    """Prints one column per scenario, then the attempts, logs and warnings seen."""
    print(
        f"{args.workers} workers x {args.streams} concurrent {args.mode} streams x "
        f"{args.rounds} rounds; {FAILING} fails {args.failure_rate:.0%} (503); "
        f"provider_failures={args.provider_failures}, cooldown={args.cooldown:g} s, "
        f"max_retries={args.max_retries}, redis timeout={args.redis_timeout:g} s"
    )
    columns = {n: _column(r, results.get("process")) for n, r in results.items()}
    print(f"{'':24}" + "".join(f"{n:>14}" for n in columns))
    for label in next(iter(columns.values()), {}):
        print(f"{label:24}" + "".join(f"{c[label]:>14}" for c in columns.values()))
    for name, result in results.items():
        served, typed = dict(result["outcome"].served), dict(result["outcome"].typed)
        print(f"-- {name}: served by {served}, typed errors {typed}")
        for line in result["stops"]:
            print(f"   redis-server {line}")
        for event, count in sorted(result["outcome"].events.items()):
            print(f"   {count:6} x {event}")


def run(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Runs the scenarios, prints the table and returns the results by scenario."""
    args = parse(argv)
    context = multiprocessing.get_context("forkserver")  # workers fork from one import
    context.set_forkserver_preload(["benchmarks.load_probe"])
    progress = context.Value("i", 0)
    from tests.redis_server import RedisServer, redis_server_path

    needs_redis = any(s != "process" for s in args.scenarios)
    if needs_redis and redis_server_path() is None:
        raise SystemExit("redis-server is not on PATH (apt-get install redis-server)")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="load-shared-redis-") as tmp:
        redis = RedisServer(Path(tmp)) if needs_redis else None
        pipes = [context.Pipe() for _ in range(args.workers)]
        procs = [context.Process(target=worker, args=(child, progress)) for _, child in pipes]
        try:
            if redis is not None:
                redis.start()
            for proc in procs:
                proc.start()
            workers = [parent for parent, _ in pipes]
            for conn in workers:
                assert conn.recv() == "ready"
            for name in args.scenarios:
                results[name] = _scenario(name, args, workers, progress, redis)
            for conn in workers:
                conn.send(None)
        finally:
            for proc in procs:
                proc.join(30)
                if proc.is_alive():
                    proc.kill()
                    proc.join(5)
            for pipe in pipes:
                pipe[0].close()
                pipe[1].close()
            if redis is not None:
                redis.stop()
    print_table(results, args)
    return results


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--workers", type=int, default=8, help="worker processes")
    add("--streams", type=int, default=250, help="concurrent streams (lanes) per worker")
    add("--rounds", type=int, default=2, help="streams each lane runs one after the other")
    add("--mode", choices=["async", "sync"], default="async", help="astream, or threads")
    add("--failure-rate", type=float, default=0.3, help=f"share of {FAILING}'s requests failed")
    add("--provider-failures", type=int, default=3, help="the models' provider_failures")
    add("--cooldown", type=float, default=30.0, help="the models' provider_cooldown")
    add("--max-retries", type=int, default=2, help="the models' max_retries")
    add("--redis-timeout", type=float, default=0.05, help="RedisStore timeout (s)")
    add("--stop-at", type=float, default=0.5, help="share of streams done when Redis stops")
    add("--restart-after", type=float, default=2.0, help="seconds until restart (< 0: never)")
    add("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    return parser.parse_args(argv)


def main() -> None:
    results = run()
    bad = [n for n, r in results.items() if r["outcome"].wrong or r["outcome"].untyped]
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
