"""Whether a Redis state store is usable now, and what a failed command returns."""

from __future__ import annotations

import hashlib
import logging
import threading
import time

from langchain_hfapi._redact import redact, warn

__all__ = ["DOWN", "RETRY_FIRST", "RETRY_MAX", "Down", "Link", "digest"]

logger = logging.getLogger("langchain_hfapi")

RETRY_FIRST, RETRY_MAX = 1.0, 30.0  # back-off before trying an unreachable Redis again


class Down:
    """Returned instead of a result when Redis could not be used."""


DOWN = Down()


def digest(text: str) -> str:
    """Returns 16 hex digits of the SHA-256 of `text` (URLs, never kept in clear)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Link:
    """Whether Redis is usable now: down after an error, retried after a back-off."""

    def __init__(self, url: str) -> None:
        self._where = redact(url)
        self._lock = threading.Lock()
        self._backoff = 0.0
        self._until = 0.0
        self._warned = False

    def usable(self) -> bool:
        """Checks whether Redis may be tried now (not within a back-off)."""
        return time.monotonic() >= self._until

    def failed(self, error: BaseException) -> None:
        """Starts or lengthens a back-off; logs each outage and warns once."""
        with self._lock:
            first = self._backoff == 0.0
            self._backoff = RETRY_FIRST if first else min(self._backoff * 2, RETRY_MAX)
            self._until = time.monotonic() + self._backoff
            backoff, warn_now, self._warned = self._backoff, not self._warned, True
        if first:
            logger.warning(
                "Redis state store %s unavailable (%s); using this process's state, "
                "trying again in %g s",
                self._where,
                type(error).__name__,
                backoff,
            )
        if warn_now:
            warn(
                f"Redis state store {self._where} unavailable ({type(error).__name__}): "
                "provider health and mappings fall back to this process until it returns",
                stacklevel=5,
            )

    def succeeded(self) -> None:
        """Ends a back-off (Redis answered)."""
        if self._backoff:
            with self._lock:
                was, self._backoff, self._until = self._backoff, 0.0, 0.0
            if was:
                logger.info("Redis state store %s reachable again", self._where)
