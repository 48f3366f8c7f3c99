"""Pure retry arithmetic: `Retry-After` parsing and exponential backoff."""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping

__all__ = [
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "backoff_delay",
    "parse_retry_after",
]

INITIAL_RETRY_DELAY = 0.5  # seconds before the first retry of a provider
MAX_RETRY_DELAY = 8.0  # backoff never waits longer than this
MAX_RETRY_AFTER = 60.0  # a longer Retry-After moves on to the next provider


def parse_retry_after(
    headers: Mapping[str, str], now: Callable[[], float] = time.time
) -> float | None:
    """Reads how long the server asked the client to wait.

    Checks `retry-after-ms` (milliseconds), then `retry-after` as seconds, then
    `retry-after` as an HTTP date.

    Args:
        headers: Response headers (case-insensitive mapping).
        now: Clock returning Unix seconds, for HTTP dates.

    Returns:
        Seconds to wait (>= 0), or `None` when no usable header is present.

    Example:
        >>> parse_retry_after({"retry-after": "1.5"})
        1.5
    """
    millis = _seconds(headers.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000.0
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(float(email.utils.mktime_tz(parsed)) - now(), 0.0)


def _seconds(value: str | None) -> float | None:
    """Parses a non-negative finite number; `None` for anything else."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return max(number, 0.0) if math.isfinite(number) else None


def backoff_delay(
    retry: int,
    retry_after: float | None = None,
    rand: Callable[[], float] = random.random,
) -> float:
    """Computes the wait before retry number `retry` of the same provider.

    The delay doubles from `INITIAL_RETRY_DELAY` up to `MAX_RETRY_DELAY`, with
    up to 25 % jitter taken off. A server's `Retry-After` replaces it.

    Args:
        retry: 1 for the first retry, 2 for the second, and so on.
        retry_after: Seconds the server asked for, if any.
        rand: Source of uniform numbers in [0, 1), for the jitter.

    Returns:
        Seconds to sleep.

    Example:
        >>> backoff_delay(1, rand=lambda: 0.0)
        0.5
    """
    if retry_after is not None:
        return retry_after
    base = min(INITIAL_RETRY_DELAY * 2.0 ** min(retry - 1, 16), MAX_RETRY_DELAY)
    return base * (1.0 - 0.25 * rand())
