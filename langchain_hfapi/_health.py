"""Provider health: a small circuit breaker per (router, model, provider).

After `failures` consecutive retryable failures a provider is skipped for
`cooldown` seconds; then one call may probe it (half-open). A success closes
the circuit; a failed probe opens it again. A `Retry-After` pause skips the
provider until the server asked to be called again, whatever the count.

The state lives in a `HealthBook`: `LocalHealthBook` (this process, behind a
`threading.Lock`, bounded) or the Redis book of `_state_redis.py`. A
`ProviderHealth` is one model's view of a book, with that model's thresholds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from langchain_hfapi._aliases import POLICIES
from langchain_hfapi._speeds import LocalSpeedBook, Speed, SpeedBook

if TYPE_CHECKING:
    from langchain_hfapi._failover import Candidate

__all__ = [
    "DEFAULT_COOLDOWN",
    "DEFAULT_FAILURES",
    "MAX_HEALTH_ENTRIES",
    "MAX_PAUSE",
    "HealthBook",
    "HealthKey",
    "LocalHealthBook",
    "ProviderHealth",
    "log_transition",
]

logger = logging.getLogger("langchain_hfapi")

DEFAULT_COOLDOWN = 30.0  # seconds a failing provider is skipped
DEFAULT_FAILURES = 3  # consecutive failures that start a cooldown
MAX_HEALTH_ENTRIES = 4096  # (router, model, provider) states kept, least recently used dropped
MAX_PAUSE = 600.0  # a longer Retry-After pauses the provider this long

HealthKey = tuple[str, str, str]  # (router URL, model, provider)


class HealthBook(Protocol):
    """Where provider health is kept; every method is atomic per key."""

    def admits(self, key: HealthKey, failures: int, cooldown: float) -> bool:
        """Checks whether a call may use the provider now (claims the probe)."""

    def cooldown_ends(self, key: HealthKey) -> float:
        """Returns when the provider may be tried again (0.0 when healthy)."""

    def record_failure(
        self, key: HealthKey, failures: int, cooldown: float, pause: float | None
    ) -> None:
        """Counts a retryable failure; `pause` is a `Retry-After` in seconds."""

    def record_success(self, key: HealthKey) -> None:
        """Forgets the provider's failures."""


def log_transition(key: HealthKey, change: str) -> None:
    """Logs one health transition at DEBUG, naming provider and model."""
    logger.debug("provider %s for %s (%s): %s", key[2], key[1], key[0], change)


@dataclass
class _State:
    failures: int = 0
    open_until: float = 0.0
    probe_until: float = 0.0  # a probe is in flight until then
    pause_until: float = 0.0  # a Retry-After asked for quiet until then


class LocalHealthBook:
    """Provider health of this process: a locked, bounded LRU table.

    Args:
        clock: Monotonic clock, replaceable in tests.
        max_entries: States kept; the least recently used is dropped beyond.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_entries: int = MAX_HEALTH_ENTRIES
    ) -> None:
        self._clock = clock
        self._max = max_entries
        self._lock = threading.Lock()
        self._states: OrderedDict[HealthKey, _State] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    def after_fork(self) -> None:
        """In a forked child: a new lock (another thread may have held the old)."""
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forgets every provider's state."""
        with self._lock:
            self._states.clear()

    def admits(self, key: HealthKey, failures: int, cooldown: float) -> bool:
        """Checks whether a call may use the provider now (claims the probe).

        Args:
            key: (router URL, model, provider).
            failures: The caller's threshold of consecutive failures.
            cooldown: The caller's cooldown, also the probe's lease.

        Returns:
            False while the provider is paused, cools down, or is being probed.
        """
        with self._lock:
            state = self._states.get(key)
            if state is None:
                return True
            now = self._clock()
            if now < state.pause_until:
                return False
            if state.failures < failures:
                return True
            if now < state.open_until or now < state.probe_until:
                return False
            # Half-open: this call probes. A probe whose call never reports back
            # (cancelled, abandoned) expires after another cooldown.
            state.probe_until = now + cooldown
        log_transition(key, "half-open, one call probes")
        return True

    def cooldown_ends(self, key: HealthKey) -> float:
        """Returns the clock time at which the provider may be tried again."""
        with self._lock:
            state = self._states.get(key)
            return max(state.open_until, state.pause_until) if state is not None else 0.0

    def record_failure(
        self, key: HealthKey, failures: int, cooldown: float, pause: float | None = None
    ) -> None:
        """Counts a retryable failure; trips the cooldown at the threshold.

        Args:
            key: (router URL, model, provider).
            failures: The caller's threshold of consecutive failures.
            cooldown: Seconds the provider is skipped once tripped.
            pause: Seconds a `Retry-After` asked for, if any (capped at `MAX_PAUSE`).
        """
        with self._lock:
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = _State()
                while len(self._states) > self._max:
                    self._states.popitem(last=False)
            self._states.move_to_end(key)
            state.failures += 1
            state.probe_until = 0.0
            now = self._clock()
            tripped = state.failures >= failures
            if tripped:
                state.open_until = now + cooldown
            if pause:
                state.pause_until = max(state.pause_until, now + min(pause, MAX_PAUSE))
            count = state.failures
        if tripped:
            log_transition(key, f"open after {count} failures, skipped for {cooldown:g} s")
        if pause:
            log_transition(key, f"paused {min(pause, MAX_PAUSE):g} s (Retry-After)")

    def record_success(self, key: HealthKey) -> None:
        """Forgets the provider's failures."""
        with self._lock:
            state = self._states.pop(key, None)
        if state is not None and state.failures:
            log_transition(key, "closed (answered)")


class ProviderHealth:
    """One model's view of provider health: its thresholds over a shared book.

    Args:
        cooldown: Seconds a provider is skipped once it tripped.
        failures: Consecutive failures that trip it.
        clock: Monotonic clock of the private book made when `book` is None.
        book: Where states are kept (shared by every model of the process
            or, with Redis, of every process); a private one when None.
        scope: The router (or `base_url`) the states belong to.
        speeds: Where measured speeds are kept (a private book when None).

    Example:
        >>> health = ProviderHealth(cooldown=30, failures=3)
    """

    def __init__(
        self,
        cooldown: float = DEFAULT_COOLDOWN,
        failures: int = DEFAULT_FAILURES,
        clock: Callable[[], float] = time.monotonic,
        *,
        book: HealthBook | None = None,
        scope: str = "",
        speeds: SpeedBook | None = None,
    ) -> None:
        self.cooldown = cooldown
        self.failures = failures
        self.book: HealthBook = book if book is not None else LocalHealthBook(clock)
        self.scope = scope
        self.speeds: SpeedBook = speeds if speeds is not None else LocalSpeedBook()

    def _key(self, cand: Candidate) -> HealthKey:
        return (self.scope, cand.repo_id, cand.label)

    def admits(self, cand: Candidate) -> bool:
        """Checks whether a call may use the provider now (claims the probe).

        Args:
            cand: The candidate about to be tried.

        Returns:
            False while the provider cools down or is paused, or while another
            call probes it.
        """
        return self.book.admits(self._key(cand), self.failures, self.cooldown)

    def cooldown_ends(self, cand: Candidate) -> float:
        """Returns the clock time at which the provider's cooldown ends.

        Args:
            cand: A candidate.

        Returns:
            The book's clock time; 0.0 for a healthy provider.
        """
        return self.book.cooldown_ends(self._key(cand))

    def record_failure(self, cand: Candidate, retry_after: float | None = None) -> None:
        """Counts a retryable failure; trips the cooldown at the threshold.

        Args:
            cand: The candidate that failed.
            retry_after: Seconds the provider asked to be left alone, if any.
        """
        self.book.record_failure(self._key(cand), self.failures, self.cooldown, retry_after)

    def record_success(self, cand: Candidate) -> None:
        """Forgets the provider's failures.

        Args:
            cand: The candidate that answered.
        """
        self.book.record_success(self._key(cand))

    def record_speed(
        self, cand: Candidate, latency: float | None, throughput: float | None = None
    ) -> None:
        """Adds one answer's measured figures to the provider's averages.

        Args:
            cand: The candidate that answered.
            latency: Seconds to its first token (or whole answer), or None.
            throughput: Output tokens per second, or None.
        """
        if cand.route is not None:
            self.record_provider_speed(cand.repo_id, cand.route, latency, throughput)

    def record_provider_speed(
        self, repo_id: str, provider: str, latency: float | None, throughput: float | None
    ) -> None:
        """Adds one answer's measured figures to a (model, provider)'s averages.

        Args:
            repo_id: The model.
            provider: The provider slug (a routing policy is not measured).
            latency: Seconds to its first token (or whole answer), or None.
            throughput: Output tokens per second, or None.
        """
        if provider not in POLICIES:
            self.speeds.record((self.scope, repo_id, provider), latency, throughput)

    def measured(self, repo_id: str, providers: list[str]) -> dict[str, Speed]:
        """Returns the measured figures of a model's providers (those measured).

        Args:
            repo_id: The model.
            providers: Provider slugs.

        Returns:
            Provider slug -> `Speed`.
        """
        keys = [(self.scope, repo_id, p) for p in providers]
        return {k[2]: v for k, v in self.speeds.speeds(keys).items()}
