"""The time bounds of one call, shared by the sync and async drivers (no I/O).

| setting | bounds | default |
|---|---|---|
| `timeout` | each connect (at most 10 s), write and read of a request | 120 s |
| `first_token_timeout` | one attempt, from sending (connect included) to its first token (stream) or its headers (whole answer) | none |
| `total_timeout` | the whole call: every attempt, the waits between them, and the stream to its end | none |
| `MAX_PROVIDERS` | providers one call tries | 8 |
| `MAX_RETRY_WAIT` | seconds one call spends waiting between retries | 60 s |

A `CallClock` is made per call. Each attempt gets the smaller of
`first_token_timeout` and the time left of `total_timeout`; every phase of
its request (pool, connect, write, read) is bounded by that too, and the
async driver cancels, the sync one abandons, an attempt that passes it.
"""  # noqa: E501

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from langchain_hfapi.errors import APITimeoutError

if TYPE_CHECKING:
    from langchain_hfapi._client_core import ClientSettings

__all__ = ["MAX_PROVIDERS", "MAX_RETRY_WAIT", "CallClock", "await_within"]

_T = TypeVar("_T")

MAX_PROVIDERS = 8  # providers one call tries at most (a mapping may list dozens)
MAX_RETRY_WAIT = 60.0  # seconds of backoff one call may spend in all
SEND_MARGIN = 0.25  # seconds a bounded send's own timeouts outlast the wait on it


async def await_within(step: Awaitable[_T], seconds: float) -> _T:
    """Awaits `step` for at most `seconds`; a late step is cancelled.

    Raises:
        asyncio.TimeoutError: When `step` took longer.
    """
    if sys.version_info >= (3, 11):  # a deadline on this task, no new task
        async with asyncio.timeout(seconds):
            return await step
    else:  # pragma: no cover - Python 3.10
        return await asyncio.wait_for(step, seconds)


def _min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


class CallClock:
    """The deadlines of one call.

    Args:
        settings: The client settings (`timeout`, `first_token_timeout`,
            `total_timeout`).
        clock: Monotonic clock, replaceable in tests.

    Example:
        >>> from langchain_hfapi._client_core import ClientSettings
        >>> clock = CallClock(ClientSettings(first_token_timeout=2.0))
        >>> clock.attempt_limit()
        (2.0, 'first_token_timeout=2.0')
    """

    __slots__ = ("_clock", "_settings", "deadline")

    def __init__(
        self, settings: ClientSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._clock = clock
        total = settings.total_timeout
        self.deadline = None if total is None else clock() + total

    def remaining(self) -> float | None:
        """Returns the seconds left of `total_timeout`, or `None` without one."""
        return None if self.deadline is None else max(self.deadline - self._clock(), 0.0)

    def attempt_limit(self) -> tuple[float | None, str]:
        """Returns how long the next attempt may take to its first token, and why.

        Returns:
            (seconds or `None`, the setting that sets it).
        """
        first = self._settings.first_token_timeout
        left = self.remaining()
        if left is not None and (first is None or left < first):
            return left, f"total_timeout={self._settings.total_timeout}"
        return first, f"first_token_timeout={first}"

    def send_timeout(self, limit: float | None) -> httpx.Timeout:
        """Returns the request timeout of an attempt: every phase within `limit`.

        The phases get a little more than `limit`, so that the wait on the
        whole attempt, which names the setting, ends first; an abandoned send
        still ends soon after.
        """
        base = self._settings.http_timeout
        if limit is None:
            return base
        limit += SEND_MARGIN
        return httpx.Timeout(
            connect=_min(base.connect, limit),
            read=_min(base.read, limit),
            write=_min(base.write, limit),
            pool=_min(base.pool, limit),
        )

    def body_timeout(self) -> dict[str, Any]:
        """Returns the timeout of a body's reads: the normal one, within `total_timeout`."""
        base = self._settings.http_timeout
        left = self.remaining()
        if left is None:
            return base.as_dict()
        return httpx.Timeout(
            connect=base.connect, read=_min(base.read, left), write=base.write, pool=base.pool
        ).as_dict()

    def passed(self) -> bool:
        """Checks whether `total_timeout` has passed."""
        return self.deadline is not None and self._clock() >= self.deadline

    def total_error(self) -> APITimeoutError:
        """Returns the error of a call that passed `total_timeout`."""
        total = self._settings.total_timeout
        return APITimeoutError(f"the call took longer than total_timeout={total} s")
