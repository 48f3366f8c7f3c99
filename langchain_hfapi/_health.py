"""Provider health: a small circuit breaker per (model, provider).

After `failures` consecutive retryable failures a provider is skipped for
`cooldown` seconds; then one call may probe it (half-open). A success closes
the circuit; a failed probe opens it again. Shared by the sync and async
drivers of one client, so it is guarded by a `threading.Lock`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_hfapi._failover import Candidate

__all__ = ["DEFAULT_COOLDOWN", "DEFAULT_FAILURES", "ProviderHealth"]

DEFAULT_COOLDOWN = 30.0  # seconds a failing provider is skipped
DEFAULT_FAILURES = 3  # consecutive failures that start a cooldown


@dataclass
class _State:
    failures: int = 0
    open_until: float = 0.0
    probe_until: float = 0.0  # a probe is in flight until then


class ProviderHealth:
    """Tracks consecutive failures per (model, provider) and cooldowns.

    Args:
        cooldown: Seconds a provider is skipped once it tripped.
        failures: Consecutive failures that trip it.
        clock: Monotonic clock, replaceable in tests.
    """

    def __init__(
        self,
        cooldown: float = DEFAULT_COOLDOWN,
        failures: int = DEFAULT_FAILURES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cooldown = cooldown
        self.failures = failures
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str], _State] = {}

    @staticmethod
    def _key(cand: Candidate) -> tuple[str, str]:
        return (cand.repo_id, cand.label)

    def admits(self, cand: Candidate) -> bool:
        """Checks whether a call may use the provider now (claims the probe).

        Args:
            cand: The candidate about to be tried.

        Returns:
            False while the provider cools down, or while another call probes it.
        """
        with self._lock:
            state = self._states.get(self._key(cand))
            if state is None or state.failures < self.failures:
                return True
            now = self._clock()
            if now < state.open_until or now < state.probe_until:
                return False
            # Half-open: this call probes. A probe whose call never reports back
            # (cancelled, abandoned) expires after another cooldown.
            state.probe_until = now + self.cooldown
            return True

    def cooldown_ends(self, cand: Candidate) -> float:
        """Returns the clock time at which the provider's cooldown ends.

        Args:
            cand: A candidate.

        Returns:
            The monotonic time; 0.0 for a healthy provider.
        """
        with self._lock:
            state = self._states.get(self._key(cand))
            return state.open_until if state is not None else 0.0

    def record_failure(self, cand: Candidate) -> None:
        """Counts a retryable failure; trips the cooldown at the threshold.

        Args:
            cand: The candidate that failed.
        """
        with self._lock:
            state = self._states.setdefault(self._key(cand), _State())
            state.failures += 1
            state.probe_until = 0.0
            if state.failures >= self.failures:
                state.open_until = self._clock() + self.cooldown

    def record_success(self, cand: Candidate) -> None:
        """Forgets the provider's failures.

        Args:
            cand: The candidate that answered.
        """
        with self._lock:
            self._states.pop(self._key(cand), None)
