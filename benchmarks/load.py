"""Concurrent streams over loopback while one provider fails a share of requests.

Every stream must either complete with exactly the expected answer of the
provider that served it, or raise one of the package's typed errors; nothing
may be lost or repeated. The fake router runs in a child process (so both
cores work), fails `--failure-rate` of the first provider's requests (HTTP 503,
or with `--failure-mode reset` a connection cut mid-answer), and counts Hub
requests so the single-flight mapping cache can be checked.

Run: `.venv/bin/python -m benchmarks.load --streams 2000 --failure-rate 0.3`
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.messages import AIMessageChunk

from langchain_hfapi import ChatHuggingFaceAPI, HuggingFaceAPIError

MODEL = "meta-llama/Llama-3.3-70B-Instruct"
FAILING = "together"  # first provider of the fake mapping
ANSWER = "Streaming answer from {provider}: " + " ".join(f"w{i}" for i in range(40)) + "."
ROOT = Path(__file__).resolve().parent.parent
MAPPING_TTL = 3600.0  # longer than a run: every Hub request beyond one is a cache miss


@dataclass
class Report:
    """What one load run saw."""

    streams: int = 0
    completed: int = 0
    typed_errors: int = 0
    wrong_contents: int = 0
    untyped_errors: int = 0
    served_by: dict[str, int] = field(default_factory=dict)
    errors_by_class: dict[str, int] = field(default_factory=dict)


def rss_mib() -> float:
    """Returns this process's resident memory in MiB after a full collection."""
    gc.collect()
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def stream_once(llm: ChatHuggingFaceAPI, index: int, report: Report) -> None:
    """Runs one stream and classifies its outcome into `report`."""
    try:
        total: AIMessageChunk | None = None
        async for chunk in llm.astream(f"question {index}"):
            total = chunk if total is None else total + chunk
        assert total is not None
        provider = str(total.response_metadata.get("provider"))
        if total.content == ANSWER.format(provider=provider):
            report.completed += 1
            report.served_by[provider] = report.served_by.get(provider, 0) + 1
        else:
            report.wrong_contents += 1
    except HuggingFaceAPIError as err:
        report.typed_errors += 1
        name = type(err).__name__
        report.errors_by_class[name] = report.errors_by_class.get(name, 0) + 1
    except Exception:  # anything untyped is a defect to count
        report.untyped_errors += 1


async def run_round(llm: ChatHuggingFaceAPI, streams: int) -> Report:
    """Runs `streams` concurrent streams and returns what they saw."""
    report = Report(streams=streams)
    await asyncio.gather(*(stream_once(llm, i, report) for i in range(streams)))
    return report


def make_llm(url: str) -> ChatHuggingFaceAPI:
    """Builds the model under load: default retries, health and cache settings."""
    return ChatHuggingFaceAPI(
        model=MODEL,
        api_key="hf_load_test",
        router_url=url,
        hub_url=url,
        timeout=120,
        mapping_ttl=MAPPING_TTL,
    )


def free_port() -> int:
    """Returns a free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, rate: float, mode: str) -> subprocess.Popen[bytes]:
    """Starts the fake router in a child process and waits until it listens."""
    fail = f"{FAILING}:{rate}:{'reset' if mode == 'reset' else '503'}"
    command = [sys.executable, "-m", "tests.router_server", "--port", str(port)]
    command += ["--answer", ANSWER, "--fail", fail]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()  # "fake router listening on ..."
    return proc


def server_stats(url: str) -> dict[str, int]:
    """Reads the fake router's counters."""
    with urllib.request.urlopen(f"{url}/_stats", timeout=10) as answer:
        return dict(json.load(answer))


def merge(reports: list[Report]) -> Report:
    """Adds up the reports of several rounds."""
    total = Report()
    for report in reports:
        total.streams += report.streams
        total.completed += report.completed
        total.typed_errors += report.typed_errors
        total.wrong_contents += report.wrong_contents
        total.untyped_errors += report.untyped_errors
        for name, count in report.served_by.items():
            total.served_by[name] = total.served_by.get(name, 0) + count
        for name, count in report.errors_by_class.items():
            total.errors_by_class[name] = total.errors_by_class.get(name, 0) + count
    return total


def slope(values: list[float]) -> float:
    """Returns the least-squares slope of `values` per step (0 for < 2 values)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    return num / sum((x - mean_x) ** 2 for x in range(n))


def is_sound(report: Report) -> bool:
    """Checks the run's invariant: every stream exact or typed, nothing else."""
    accounted = report.completed + report.typed_errors == report.streams
    return accounted and report.wrong_contents == 0 and report.untyped_errors == 0


async def main_async(args: argparse.Namespace, url: str) -> int:
    llm = make_llm(url)
    started = time.monotonic()
    reports: list[Report] = []
    series: list[float] = []  # RSS after each round
    for _ in range(args.warmup + args.rounds):
        reports.append(await run_round(llm, args.streams))
        series.append(rss_mib())
    rss_after_warmup, rss_end = series[args.warmup - 1], series[-1]
    elapsed = time.monotonic() - started
    stats = server_stats(url)
    total = merge(reports)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rounds = args.warmup + args.rounds
    print(f"streams             {total.streams} ({args.streams} concurrent x {rounds} rounds)")
    print(
        f"failures injected   {stats['failures_injected']} ({args.failure_mode}, "
        f"{args.failure_rate:.0%} of {FAILING}'s requests)"
    )
    print(f"chat requests       {stats['chat_requests']}")
    print(f"completed           {total.completed}  served by {total.served_by}")
    print(f"typed errors        {total.typed_errors}  {total.errors_by_class}")
    print(f"wrong contents      {total.wrong_contents}")
    print(f"untyped errors      {total.untyped_errors}")
    print(f"hub requests        {stats['hub_requests']} (mapping_ttl {MAPPING_TTL:.0f} s)")
    print(
        f"rss MiB             start {args.rss_start:.1f}, after {args.warmup} warm-up rounds "
        f"{rss_after_warmup:.1f}, after {args.rounds} more {rss_end:.1f} (peak {peak:.1f})"
    )
    print(f"rss MiB per round   {' '.join(f'{v:.0f}' for v in series)}")
    print(f"rss trend           {slope(series[args.warmup - 1 :]):+.1f} MiB/round after warm-up")
    print(f"elapsed             {elapsed:.1f} s")
    return 0 if is_sound(total) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=2000, help="concurrent streams per round")
    parser.add_argument(
        "--warmup", type=int, default=2, help="rounds before measuring memory (>= 1)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds after the warm-up")
    parser.add_argument("--failure-rate", type=float, default=0.3)
    parser.add_argument("--failure-mode", choices=["status", "reset"], default="status")
    args = parser.parse_args()
    args.warmup = max(args.warmup, 1)
    args.rss_start = rss_mib()
    port = free_port()
    proc = start_server(port, args.failure_rate, args.failure_mode)
    try:
        code = asyncio.run(main_async(args, f"http://127.0.0.1:{port}"))
    finally:
        proc.terminate()
        proc.wait(10)
    sys.exit(code)


if __name__ == "__main__":
    main()
