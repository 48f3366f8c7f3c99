"""How the sync driver keeps an attempt within its time limit.

A blocked socket call cannot be interrupted from its own thread, so:

- `send_within` sends on a worker thread and waits at most the limit; a late
  send is abandoned (its own timeouts, also within the limit, end it, and its
  response is closed when it arrives). Only that request is affected.
- `Watchdog` ends a wait for the first token by shutting the socket down, but
  only on an HTTP/1.1 connection, which carries no other request while a
  response is read; on HTTP/2 (a user's client) it leaves the shared socket
  alone and the read timeout bounds the wait.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import socket
import threading
import time
from collections.abc import Callable

import httpx

from langchain_hfapi.errors import APITimeoutError

__all__ = ["Watchdog", "send_within"]

_SENDERS: concurrent.futures.ThreadPoolExecutor | None = None
_SENDERS_LOCK = threading.Lock()
MAX_SENDERS = 256  # sends waiting on a time limit at once, process-wide


def _senders() -> concurrent.futures.ThreadPoolExecutor:
    global _SENDERS
    if _SENDERS is None:
        with _SENDERS_LOCK:
            if _SENDERS is None:
                _SENDERS = concurrent.futures.ThreadPoolExecutor(
                    MAX_SENDERS, thread_name_prefix="langchain-hfapi-send"
                )
    return _SENDERS


def _close_late(future: concurrent.futures.Future[httpx.Response]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()


def send_within(
    send: Callable[[], httpx.Response], limit: float | None, why: str
) -> httpx.Response:
    """Runs `send`, giving up on it after `limit` seconds.

    Args:
        send: Sends the request and returns once its headers arrived.
        limit: Seconds it may take, or `None` to run it in this thread.
        why: The setting that sets the limit, named in the error.

    Returns:
        The response, headers read.

    Raises:
        APITimeoutError: When `send` took longer than `limit`.
    """
    if limit is None:
        return send()
    future = _senders().submit(contextvars.copy_context().run, send)
    try:
        return future.result(timeout=limit)
    except concurrent.futures.TimeoutError:
        if not future.cancel():
            future.add_done_callback(_close_late)
        raise APITimeoutError(f"no answer within {why} s") from None


class Watchdog:
    """Ends the wait for a stream's first token at a deadline (HTTP/1.1 only).

    Args:
        response: The response whose body is being read.
        deadline: The monotonic time at which the wait ends.
    """

    def __init__(self, response: httpx.Response, deadline: float) -> None:
        self._deadline = deadline
        self._response = response
        self._timer: threading.Timer | None = None
        if response.http_version == "HTTP/1.1":
            self._timer = threading.Timer(max(deadline - time.monotonic(), 0.0), self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def expired(self) -> bool:
        """Checks whether the deadline has passed."""
        return time.monotonic() >= self._deadline

    def cancel(self) -> None:
        """Stops the timer (the first token arrived, or the attempt ended)."""
        if self._timer is not None:
            self._timer.cancel()
