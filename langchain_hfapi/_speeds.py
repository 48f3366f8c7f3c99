"""Measured speed of each (router, model, provider), and its blend with the catalog.

Each answer this package receives is timed:

- latency: seconds from sending an attempt to its first token (streams) or
  to its whole answer (`invoke`), measured where the failover plan learns
  that the attempt succeeded;
- throughput: output tokens per second, from the first token to the last
  (streams) or over the whole answer (`invoke`), from the usage the provider
  reported.

A `SpeedBook` keeps, per key, an exponentially weighted average of each
(weight `ALPHA` for the newest figure) and how many figures went into it. It
lives in the state store, so every model of the process (or, with Redis, of
every process) shares it.

`blend` mixes a measured average with the router's probe figure: the probe
counts as `PROBE_WEIGHT` measurements, so after a few answers the package's
own figures lead the order, while a provider never measured keeps its probe
figure.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "ALPHA",
    "PROBE_WEIGHT",
    "LocalSpeedBook",
    "Speed",
    "SpeedBook",
    "SpeedKey",
    "blend",
]

ALPHA = 0.5  # weight of the newest figure in a measured average
PROBE_WEIGHT = 2.0  # the router's probe figure counts as this many measurements
MAX_COUNTED = 20  # measurements counted at most, so the probe never quite vanishes
MAX_SPEED_ENTRIES = 4096  # (router, model, provider) speeds kept, least recently used dropped

SpeedKey = tuple[str, str, str]  # (router URL, model, provider)


@dataclass(frozen=True)
class Speed:
    """Measured figures of one (router, model, provider).

    Attributes:
        latency: Average seconds to the first token (or whole answer).
        latency_count: Measurements averaged into `latency`.
        throughput: Average output tokens per second.
        throughput_count: Measurements averaged into `throughput`.
    """

    latency: float | None = None
    latency_count: int = 0
    throughput: float | None = None
    throughput_count: int = 0


def _average(old: float | None, count: int, new: float) -> tuple[float, int]:
    value = new if old is None else ALPHA * new + (1 - ALPHA) * old
    return value, min(count + 1, MAX_COUNTED)


def blend(probe: float | None, measured: float | None, count: int) -> float | None:
    """Mixes the router's probe figure with the package's measured average.

    Args:
        probe: The catalog's figure (same unit as `measured`), or None.
        measured: The measured average, or None.
        count: Measurements in the average.

    Returns:
        `(PROBE_WEIGHT * probe + count * measured) / (PROBE_WEIGHT + count)`;
        the one figure known when the other is not; None when neither is.

    Example:
        >>> blend(1.0, 4.0, 1)  # one answer of 4 s against a probe of 1 s
        2.0
    """
    if measured is None or count <= 0:
        return probe
    if probe is None:
        return measured
    return (PROBE_WEIGHT * probe + count * measured) / (PROBE_WEIGHT + count)


class SpeedBook(Protocol):
    """Where measured speeds are kept; every method is atomic per key."""

    def record(self, key: SpeedKey, latency: float | None, throughput: float | None) -> None:
        """Adds one answer's figures (None: not measured) to the averages."""

    def speeds(self, keys: list[SpeedKey]) -> dict[SpeedKey, Speed]:
        """Returns the figures of the keys measured so far."""


class LocalSpeedBook:
    """Measured speeds of this process: a locked, bounded LRU table.

    Args:
        max_entries: Keys kept; the least recently used is dropped beyond.
        clock: Unused (kept for symmetry with the other books).

    Example:
        >>> book = LocalSpeedBook()
        >>> book.record(("r", "m", "p"), 0.5, None)
        >>> book.speeds([("r", "m", "p")])[("r", "m", "p")].latency
        0.5
    """

    def __init__(
        self, max_entries: int = MAX_SPEED_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max = max_entries
        self._lock = threading.Lock()
        self._speeds: OrderedDict[SpeedKey, Speed] = OrderedDict()

    def __len__(self) -> int:
        return len(self._speeds)

    def after_fork(self) -> None:
        """In a forked child: a new lock (another thread may have held the old)."""
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forgets every measurement."""
        with self._lock:
            self._speeds.clear()

    def record(self, key: SpeedKey, latency: float | None, throughput: float | None) -> None:
        """Adds one answer's figures to the key's averages.

        Args:
            key: (router URL, model, provider).
            latency: Seconds to the first token or whole answer, or None.
            throughput: Output tokens per second, or None.
        """
        with self._lock:
            old = self._speeds.get(key, Speed())
            lat, lat_n = old.latency, old.latency_count
            tps, tps_n = old.throughput, old.throughput_count
            if latency is not None:
                lat, lat_n = _average(lat, lat_n, latency)
            if throughput is not None:
                tps, tps_n = _average(tps, tps_n, throughput)
            self._speeds[key] = Speed(lat, lat_n, tps, tps_n)
            self._speeds.move_to_end(key)
            while len(self._speeds) > self._max:
                self._speeds.popitem(last=False)

    def speeds(self, keys: list[SpeedKey]) -> dict[SpeedKey, Speed]:
        """Returns the figures of the keys measured so far."""
        with self._lock:
            return {k: self._speeds[k] for k in keys if k in self._speeds}
