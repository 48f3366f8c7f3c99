"""Worker side of `benchmarks.load_shared`: streams, tallies and store timing.

Each worker process runs `worker`: it receives `Job`s over a pipe, runs the
scenario's lanes of streams with a model whose state store is wrapped by
`timed_store`, and sends back an `Outcome`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from benchmarks.load import ANSWER, MODEL

T = TypeVar("T")
_spent: ContextVar[list[float] | None] = ContextVar("store_time", default=None)
_lock = threading.Lock()  # counts are also updated from threads (--mode sync)


@dataclass
class Job:
    """One scenario as one worker runs it."""

    url: str
    redis_url: str | None
    prefix: str
    args: argparse.Namespace
    start_at: float


@dataclass
class Outcome:
    """What one worker (or, merged, all workers) saw in one scenario."""

    streams: int = 0
    completed: int = 0
    wrong: int = 0
    untyped: int = 0
    skips: int = 0  # attempts skipped because the provider was cooling down
    store_ops: int = 0
    fallback_ops: int = 0  # store operations that ended with Redis unavailable
    busy: list[float] = field(default_factory=list)  # per worker: health time / wall
    latency: list[float] = field(default_factory=list)  # per stream, end to end
    health: list[float] = field(default_factory=list)  # per stream, in health operations
    mapping: list[float] = field(default_factory=list)  # per stream, in mapping fetches
    typed: Counter[str] = field(default_factory=Counter)
    served: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)  # failed attempts, logs, warnings

    def add(self, other: Outcome) -> None:
        for name, value in vars(other).items():
            mine = getattr(self, name)
            if isinstance(mine, list | Counter):
                mine.extend(value) if isinstance(mine, list) else mine.update(value)
            else:
                setattr(self, name, mine + value)


def timed_store(inner: Any, out: Outcome) -> Any:
    """Wraps a state store: each operation's wall time goes to the calling stream.

    Slot 0 of the stream's `_spent` gets health operations, slot 1 mapping fetches.
    """
    from langchain_hfapi._state import StateStore

    available = getattr(inner, "available", lambda: True)

    def note(began: float, slot: int) -> None:
        spent, down = _spent.get(), not available()
        if spent is not None:
            spent[slot] += time.perf_counter() - began
        with _lock:
            out.store_ops += 1
            out.fallback_ops += down

    def timed(op: Callable[..., T], slot: int) -> Callable[..., T]:
        def run(*a: Any, **kw: Any) -> T:
            began = time.perf_counter()
            try:
                return op(*a, **kw)
            finally:
                note(began, slot)

        return run

    async def afetch(*a: Any, **kw: Any) -> Any:
        began = time.perf_counter()
        try:
            return await inner.afetch_mapping(*a, **kw)
        finally:
            note(began, 1)

    book = inner.health_book()
    names = ("admits", "cooldown_ends", "record_failure", "record_success")
    timed_book = type("TimedBook", (), {n: staticmethod(timed(getattr(book, n), 0)) for n in names})

    speeds = inner.speed_book()
    timed_speeds = type(
        "TimedSpeeds",
        (),
        {n: staticmethod(timed(getattr(speeds, n), 0)) for n in ("record", "speeds")},
    )

    class TimedStore(StateStore):
        def health_book(self) -> Any:
            return timed_book

        def speed_book(self) -> Any:
            return timed_speeds

        def fetch_catalog(self, *a: Any, **kw: Any) -> Any:
            return inner.fetch_catalog(*a, **kw)

        async def afetch_catalog(self, *a: Any, **kw: Any) -> Any:
            return await inner.afetch_catalog(*a, **kw)

    store = TimedStore()
    store.health_blocks = inner.health_blocks  # async calls take Redis decisions off the loop
    store.fetch_mapping = timed(inner.fetch_mapping, 1)  # type: ignore[method-assign]
    store.afetch_mapping = afetch  # type: ignore[method-assign]
    return store


@contextlib.contextmanager
def _recording(out: Outcome) -> Iterator[None]:
    """Counts the package's log records (health transitions by kind) and warnings."""

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage()
            if text.startswith(("retrying ", "failing over ")):
                return  # counted per attempt from `response_metadata["attempts"]`
            if text.startswith("provider "):  # a health transition: provider and kind
                text = f"{text.split()[1]} {text.rsplit(': ', 1)[-1].split()[0]}"
            out.events[f"log {record.levelname}: {text}"] += 1

    logger = logging.getLogger("langchain_hfapi")
    handler, level = Count(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            yield
        for warning in seen:
            out.events[f"warning {warning.category.__name__}: {warning.message}"] += 1
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class _Streams:
    """One scenario in one worker process: the model, the lanes, the tallies."""

    def __init__(self, job: Job, progress: Any) -> None:
        from langchain_hfapi import ChatHuggingFaceAPI, RedisStore
        from langchain_hfapi._state import PROCESS_STORE

        self.args, self.progress, self.out = job.args, progress, Outcome()
        PROCESS_STORE.clear()  # each scenario starts as a fresh process would
        real: Any = PROCESS_STORE
        if job.redis_url:
            real = RedisStore(job.redis_url, prefix=job.prefix, timeout=self.args.redis_timeout)
        self.llm = ChatHuggingFaceAPI(
            model=MODEL,
            api_key="hf_load_test",
            router_url=job.url,
            hub_url=job.url,
            state=timed_store(real, self.out),
            timeout=120,
            mapping_ttl=3600,
            max_retries=self.args.max_retries,
            provider_failures=self.args.provider_failures,
            provider_cooldown=self.args.cooldown,
        )

    def _done(self, began: float, spent: list[float], total: Any, err: Exception | None) -> None:
        """Tallies a finished stream: exact answer of the provider that served it, or error."""
        from langchain_hfapi import HuggingFaceAPIError

        meta = total.response_metadata if total is not None else {}
        provider = meta.get("provider")
        exact = err is None and bool(provider) and total.content == ANSWER.format(provider=provider)
        out = self.out
        with _lock:
            out.latency.append(time.perf_counter() - began)
            out.health.append(spent[0])
            out.mapping.append(spent[1])
            out.streams += 1
            for attempt in meta.get("attempts", []):
                out.skips += attempt["error"] == "cooling_down"
                what = (attempt["provider"], attempt["error"], attempt["status_code"])
                out.events["failed attempt: {} {} {}".format(*what)] += 1
            if isinstance(err, HuggingFaceAPIError):
                out.typed[type(err).__name__] += 1
            elif err is not None:
                out.untyped += 1
                out.events[f"untyped: {err!r}"[:200]] += 1
            elif exact:
                out.completed += 1
                out.served[provider] += 1
            else:
                out.wrong += 1
        with self.progress.get_lock():
            self.progress.value += 1

    async def _alane(self, lane: int) -> None:
        for step in range(self.args.rounds):
            _spent.set(spent := [0.0, 0.0])
            began, total, error = time.perf_counter(), None, None
            try:
                async for chunk in self.llm.astream(f"question {lane}.{step}"):
                    total = chunk if total is None else total + chunk
            except Exception as err:
                error = err
            self._done(began, spent, total, error)

    def _lane(self, lane: int) -> None:
        for step in range(self.args.rounds):
            _spent.set(spent := [0.0, 0.0])
            began, total, error = time.perf_counter(), None, None
            try:
                for chunk in self.llm.stream(f"question {lane}.{step}"):
                    total = chunk if total is None else total + chunk
            except Exception as err:
                error = err
            self._done(began, spent, total, error)

    async def _all(self) -> None:
        await asyncio.gather(*(self._alane(i) for i in range(self.args.streams)))

    def run(self, start_at: float) -> Outcome:
        with _recording(self.out):
            time.sleep(max(start_at - time.time(), 0.0))
            began = time.perf_counter()
            if self.args.mode == "async":
                asyncio.run(self._all())
            else:
                with ThreadPoolExecutor(self.args.streams) as pool:
                    list(pool.map(self._lane, range(self.args.streams)))
            self.out.busy.append(sum(self.out.health) / (time.perf_counter() - began))
        return self.out


def worker(conn: Any, progress: Any) -> None:
    """A worker process: runs the jobs it receives until it gets None."""
    import langchain_hfapi  # noqa: F401  (imported before the first job is timed)

    conn.send("ready")
    while (job := conn.recv()) is not None:
        conn.send(_Streams(job, progress).run(job.start_at))
