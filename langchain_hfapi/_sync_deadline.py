"""How the sync driver keeps an attempt within its time limit.

A blocked socket call cannot be interrupted from its own thread, so:

- `run_within` sends (and, for a stream, waits for the first token) on a
  worker thread and waits at most the limit; a late attempt is abandoned (its
  own timeouts, also within the limit, end it, and what it returns is closed
  when it arrives). Only that request is affected, on HTTP/1.1 and HTTP/2.
- `Watchdog` ends a blocked read (the wait for the first token, the read of a
  stream's last bytes) by shutting the socket down, but only on an HTTP/1.1
  connection, which carries no other request while a response is read; on
  HTTP/2 (a user's client) it leaves the shared socket alone and the read
  timeout bounds the wait. All watchdogs share one timer thread.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

import httpx

from langchain_hfapi.errors import APITimeoutError

__all__ = ["Watchdog", "run_within", "worker_pool"]

_SENDERS: concurrent.futures.ThreadPoolExecutor | None = None
_SENDERS_LOCK = threading.Lock()
MAX_SENDERS = 256  # worker threads, process-wide (sends on a time limit, store commands)


def worker_pool() -> concurrent.futures.ThreadPoolExecutor:
    """Returns the process's worker threads: limited sends, off-loop store commands."""
    global _SENDERS
    if _SENDERS is None:
        with _SENDERS_LOCK:
            if _SENDERS is None:
                _SENDERS = concurrent.futures.ThreadPoolExecutor(
                    MAX_SENDERS, thread_name_prefix="langchain-hfapi-send"
                )
    return _SENDERS


class _Closable(Protocol):
    def close(self) -> None: ...


_C = TypeVar("_C", bound=_Closable)


def _close_late(future: concurrent.futures.Future[_C]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()


def run_within(step: Callable[[], _C], limit: float | None, late: str) -> _C:
    """Runs `step` (a send, or a send and the wait for a first token) within a limit.

    With a limit, `step` runs on a sender thread and is abandoned when the
    limit passes: whatever the protocol, the caller waits no longer. What a
    late step returns (a response, an open stream) is closed when it comes.

    Args:
        step: Sends the request and returns what must be closed after use.
        limit: Seconds it may take, or `None` to run it in this thread.
        late: The message of the `APITimeoutError` raised at the limit.

    Returns:
        What `step` returned.

    Raises:
        APITimeoutError: When `step` took longer than `limit`.
    """
    if limit is None:
        return step()
    future = worker_pool().submit(contextvars.copy_context().run, step)
    try:
        return future.result(timeout=limit)
    except concurrent.futures.TimeoutError:
        if not future.cancel():
            future.add_done_callback(_close_late)
        raise APITimeoutError(late) from None


class _Timers:
    """One daemon thread that runs callbacks at deadlines, for the whole process.

    Arming one costs a heap push under a lock (a `threading.Timer` starts a
    thread each time). Cancelled entries are dropped when they come due.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        """Runs `callback` on the timer thread at monotonic time `when`."""
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._order), callback))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="langchain-hfapi-timers", daemon=True
                )
                self._thread.start()
            elif self._heap[0][2] is callback:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                callback = heapq.heappop(self._heap)[2]
            with contextlib.suppress(Exception):
                callback()


_TIMERS = _Timers()


def _threads_after_fork() -> None:
    global _TIMERS, _SENDERS, _SENDERS_LOCK
    _TIMERS = _Timers()  # the parent's threads do not exist in the child
    _SENDERS = None
    _SENDERS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_threads_after_fork)


class Watchdog:
    """Ends a blocked read of one response at a deadline (HTTP/1.1 only).

    It shuts the response's socket down, which ends the read with an error.
    On HTTP/1.1 that connection carries no other request while the response
    is open; `cancel()` must come before the response is closed (and its
    connection released to the pool): after it, the socket is never touched.
    On HTTP/2 (a user's client) it leaves the shared socket alone.

    Args:
        response: The response whose body is being read.
        deadline: The monotonic time at which the wait ends.
    """

    __slots__ = ("_deadline", "_lock", "_response")

    def __init__(self, response: httpx.Response, deadline: float) -> None:
        self._deadline = deadline
        self._response: httpx.Response | None = None
        self._lock = threading.Lock()
        if response.http_version == "HTTP/1.1":
            self._response = response
            _TIMERS.call_at(deadline, self._fire)

    def _fire(self) -> None:
        with self._lock:
            response, self._response = self._response, None
            if response is None:  # cancelled
                return
            stream = response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def expired(self) -> bool:
        """Checks whether the deadline has passed."""
        return time.monotonic() >= self._deadline

    def cancel(self) -> None:
        """Disarms the watchdog; once it returns, the socket is never touched."""
        with self._lock:
            self._response = None
