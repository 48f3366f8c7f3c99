"""A bounded TTL cache with single-flight fetches, a remembered 404 and stale fallback.

Shared by the Hub mappings (`_mapping.MappingCache`) and the router's catalog
(`_state.CatalogCache`); values are kept as they are, never copied.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from langchain_hfapi.errors import APIConnectionError, ModelNotSupportedError, ProviderError

__all__ = ["FLIGHT_WAIT", "NOT_FOUND_TTL", "Key", "TTLCache"]

logger = logging.getLogger("langchain_hfapi")

DEFAULT_TTL = 300.0  # seconds an entry is fresh
NOT_FOUND_TTL = 30.0  # seconds a 404 is remembered
MAX_ENTRIES = 1024  # entries kept, least recently used dropped beyond
FLIGHT_WAIT = 10.0  # seconds a caller waits for another's request before sending its own

V = TypeVar("V")


@dataclass
class _Entry(Generic[V]):
    value: V | None  # None: remembered 404
    expires: float
    fetched: float
    error: ModelNotSupportedError | None = None


Key = tuple[str, str, str]


class _Abandoned(Exception):
    """The caller that fetched was cancelled: a waiter fetches itself."""


class TTLCache(Generic[V]):
    """A bounded TTL cache with single-flight fetches and stale fallback.

    Concurrent misses for one key cause one Hub request, whether they come
    from threads, coroutines or several event loops: the first caller fetches
    and the others wait on a `concurrent.futures.Future` (coroutines through
    `asyncio.wrap_future`). A 404 is remembered for `NOT_FOUND_TTL`. When the
    Hub is unreachable or failing and an expired entry exists, the expired
    entry is served and a warning is logged. At most `max_entries` mappings
    are kept, the least recently used dropped first.

    Args:
        ttl: Seconds an entry is fresh (a call may pass its own).
        clock: Monotonic clock, replaceable in tests.
        max_entries: Mappings kept.
    """

    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._max = max_entries
        self._entries: OrderedDict[Key, _Entry[V]] = OrderedDict()
        self._guard = threading.Lock()
        self._flights: dict[Key, concurrent.futures.Future[V]] = {}

    source = "Hub"  # named in the stale-answer warning
    what = "provider mapping"

    def __len__(self) -> int:
        return len(self._entries)

    def after_fork(self) -> None:
        """In a forked child: new lock, no flight (the parent's never land here)."""
        self._guard = threading.Lock()
        self._flights = {}

    def clear(self) -> None:
        """Forgets every mapping (fetches in flight complete normally)."""
        with self._guard:
            self._entries.clear()

    def label(self, key: Key) -> str:
        """Names an entry in warnings, e.g. "provider mapping of org/model"."""
        return f"{self.what} of {key[2]}"

    def peek(self, key: Key) -> V | None:
        """Returns a fresh entry without fetching (None on a miss)."""
        return self._fresh(key)

    def _fresh(self, key: Key) -> V | None:
        with self._guard:
            entry = self._entries.get(key)
            if entry is None or entry.expires <= self._clock():
                return None
            self._entries.move_to_end(key)
        if entry.error is not None:
            raise copy.copy(entry.error)  # a fresh instance: tracebacks do not pile up
        return entry.value

    def _put(self, key: Key, entry: _Entry[V]) -> None:
        with self._guard:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def _store(self, key: Key, value: V, ttl: float | None) -> None:
        now = self._clock()
        self._put(key, _Entry(value, now + (self.ttl if ttl is None else ttl), now))

    def _settle(self, key: Key, error: Exception) -> V:
        """Remembers a 404, or serves a stale entry on a Hub outage."""
        now = self._clock()
        if isinstance(error, ModelNotSupportedError):
            self._put(key, _Entry(None, now + NOT_FOUND_TTL, now, error))
            raise error
        with self._guard:
            stale = self._entries.get(key)
        if (
            isinstance(error, (APIConnectionError, ProviderError))
            and stale is not None
            and stale.value is not None
        ):
            logger.warning(
                "%s unreachable (%s); using the %s cached %.0f s ago",
                self.source,
                type(error).__name__,
                self.label(key),
                now - stale.fetched,
            )
            return stale.value
        raise error

    def _claim(self, key: Key) -> tuple[concurrent.futures.Future[V], bool]:
        """Returns the key's flight and whether this caller owns (must fetch) it."""
        with self._guard:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            flight = self._flights[key] = concurrent.futures.Future()
            return flight, True

    def _land(
        self, key: Key, flight: concurrent.futures.Future[V], value: V | BaseException
    ) -> None:
        with self._guard:
            self._flights.pop(key, None)
        if flight.done():
            return
        if isinstance(value, BaseException):
            flight.set_exception(value)
        else:
            flight.set_result(value)

    def _load(self, key: Key, load: Callable[[], V], ttl: float | None) -> V:
        value = self._fresh(key)  # another flight may have landed meanwhile
        if value is not None:
            return value
        try:
            value = load()
        except Exception as err:
            return self._settle(key, err)
        self._store(key, value, ttl)
        return value

    def fetch(self, key: Key, load: Callable[[], V], ttl: float | None = None) -> V:
        """Returns the cached mapping, calling `load` once on a miss.

        Args:
            key: From `cache_key`.
            load: Sends the Hub request and parses it.
            ttl: Seconds a newly fetched entry is fresh (default: `self.ttl`).

        Returns:
            The mapping entries.

        Raises:
            ModelNotSupportedError: The Hub does not know the model (cached).
            HuggingFaceAPIError: The Hub failed and nothing stale is cached.
        """
        while True:
            value = self._fresh(key)
            if value is not None:
                return value
            flight, owner = self._claim(key)
            if not owner:
                try:
                    return flight.result(timeout=FLIGHT_WAIT)
                except _Abandoned:
                    continue
                except concurrent.futures.TimeoutError:
                    return self._load(key, load, ttl)
            try:
                value = self._load(key, load, ttl)
            except Exception as err:
                self._land(key, flight, err)
                raise
            except BaseException:
                self._land(key, flight, _Abandoned())
                raise
            self._land(key, flight, value)
            return value

    async def afetch(
        self,
        key: Key,
        load: Callable[[], Awaitable[V]],
        ttl: float | None = None,
    ) -> V:
        """Async twin of `fetch`; one Hub request across threads and event loops.

        A cancelled caller does not cancel the fetch others wait for.

        Args:
            key: From `cache_key`.
            load: Sends the Hub request and parses it.
            ttl: Seconds a newly fetched entry is fresh (default: `self.ttl`).

        Returns:
            The mapping entries.
        """
        while True:
            value = self._fresh(key)
            if value is not None:
                return value
            flight, owner = self._claim(key)
            if owner:
                task = asyncio.ensure_future(self._aload(key, load, ttl, flight))
                return await asyncio.shield(task)
            waiter = asyncio.shield(asyncio.wrap_future(flight))  # never cancels the flight
            try:
                return await asyncio.wait_for(waiter, FLIGHT_WAIT)
            except _Abandoned:
                continue
            except asyncio.TimeoutError:
                return await self._aload(key, load, ttl, None)

    async def _aload(
        self,
        key: Key,
        load: Callable[[], Awaitable[V]],
        ttl: float | None,
        flight: concurrent.futures.Future[V] | None,
    ) -> V:
        try:
            value = self._fresh(key)
            if value is None:
                try:
                    value = await load()
                except Exception as err:
                    value = self._settle(key, err)
                else:
                    self._store(key, value, ttl)
        except Exception as err:
            if flight is not None:
                self._land(key, flight, err)
            raise
        except BaseException:
            if flight is not None:
                self._land(key, flight, _Abandoned())
            raise
        if flight is not None:
            self._land(key, flight, value)
        return value
