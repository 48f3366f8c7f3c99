"""Where provider health, Hub mappings and router catalogs are kept: the state stores.

Every model of a process shares one store, sync or async, whatever its
instance: by default `PROCESS_STORE` (memory of this process), or a
`RedisStore` (`_state_redis.py`) shared by every process using the same Redis.
State is keyed by what it depends on, never by model instance:

- mappings by (Hub URL, token hash, model);
- provider health and measured speeds by (router URL, model, provider);
- router catalogs (`/v1/models`) by (router URL, token hash).

A model chooses its store with `state=`; `resolve_store` turns that setting
into a store.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_hfapi._health import MAX_HEALTH_ENTRIES, HealthBook, LocalHealthBook, ProviderHealth
from langchain_hfapi._mapping import (
    MAX_MAPPING_ENTRIES,
    Key,
    MappingCache,
    ProviderMapping,
    TTLCache,
)
from langchain_hfapi._offers import RouterCatalog
from langchain_hfapi._speeds import LocalSpeedBook, SpeedBook

__all__ = [
    "PROCESS_STORE",
    "MappingView",
    "ProcessStore",
    "StateStore",
    "resolve_store",
]

MAX_CATALOGS = 16  # router catalogs kept (one per router URL and token)
MAX_REDIS_STORES = 8  # `state="redis://..."` stores kept per process, by URL

Load = Callable[[], list[ProviderMapping]]
ALoad = Callable[[], Awaitable[list[ProviderMapping]]]
CatalogLoad = Callable[[], RouterCatalog]
ACatalogLoad = Callable[[], Awaitable[RouterCatalog]]


class CatalogCache(TTLCache[RouterCatalog]):
    """The TTL cache of router catalogs, keyed by (router URL, token hash, "")."""

    source = "Router"
    what = "catalog"

    def label(self, key: Key) -> str:
        """Names the catalog in warnings, with its router."""
        return f"catalog of {key[0]}"


class StateStore:
    """Base of the state stores: health book and mapping fetches.

    Subclasses implement `health_book`, `fetch_mapping` and `afetch_mapping`.

    Attributes:
        health_blocks: Whether health commands wait on I/O (a network store):
            async callers then run them off the event loop.

    Example:
        >>> store = resolve_store("process")
        >>> health = store.health("https://router.huggingface.co", cooldown=30, failures=3)
    """

    health_blocks = False

    def health_book(self) -> HealthBook:
        """Returns the book provider health is kept in.

        Raises:
            NotImplementedError: In the base class.
        """
        raise NotImplementedError

    def fetch_mapping(self, key: Key, load: Load, ttl: float) -> list[ProviderMapping]:
        """Returns a model's mapping, calling `load` (one Hub request) on a miss.

        Args:
            key: (Hub URL, token hash, model), from `cache_key`.
            load: Sends the Hub request and parses it.
            ttl: Seconds a fetched mapping stays fresh.

        Raises:
            NotImplementedError: In the base class.
        """
        raise NotImplementedError

    async def afetch_mapping(self, key: Key, load: ALoad, ttl: float) -> list[ProviderMapping]:
        """Async twin of `fetch_mapping`.

        Raises:
            NotImplementedError: In the base class.
        """
        raise NotImplementedError

    def speed_book(self) -> SpeedBook:
        """Returns the book measured provider speeds are kept in.

        Raises:
            NotImplementedError: In the base class.
        """
        raise NotImplementedError

    def fetch_catalog(self, key: Key, load: CatalogLoad, ttl: float) -> RouterCatalog:
        """Returns the router's catalog, calling `load` (one request) on a miss.

        Args:
            key: (router URL, token hash, ""), from `cache_key`.
            load: Sends `GET /v1/models` and parses it.
            ttl: Seconds a fetched catalog stays fresh.

        Raises:
            NotImplementedError: In the base class.
        """
        raise NotImplementedError

    async def afetch_catalog(self, key: Key, load: ACatalogLoad, ttl: float) -> RouterCatalog:
        """Async twin of `fetch_catalog`.

        Raises:
            NotImplementedError: In the base class.
        """
        raise NotImplementedError

    def health(self, scope: str, cooldown: float, failures: int) -> ProviderHealth:
        """Returns one model's view of provider health.

        Args:
            scope: The router URL (or `base_url`) the providers are reached at.
            cooldown: The model's `provider_cooldown`.
            failures: The model's `provider_failures`.

        Returns:
            A `ProviderHealth` over this store's book.
        """
        book, speeds = self.health_book(), self.speed_book()
        return ProviderHealth(cooldown, failures, book=book, scope=scope, speeds=speeds)

    def mappings(self, ttl: float) -> MappingView:
        """Returns one model's view of the mapping cache (with its TTL)."""
        return MappingView(self, ttl)


class MappingView:
    """One model's access to a store's mappings, with the model's TTL.

    Args:
        store: The store.
        ttl: Seconds a mapping fetched through this view stays fresh.
    """

    def __init__(self, store: StateStore, ttl: float) -> None:
        self.store = store
        self.ttl = ttl

    def fetch(self, key: Key, load: Load) -> list[ProviderMapping]:
        """Returns the mapping, fetching it once on a miss (see `StateStore`)."""
        return self.store.fetch_mapping(key, load, self.ttl)

    async def afetch(self, key: Key, load: ALoad) -> list[ProviderMapping]:
        """Async twin of `fetch`."""
        return await self.store.afetch_mapping(key, load, self.ttl)


class ProcessStore(StateStore):
    """State kept in this process: shared by its threads and event loops.

    Bounded: at most `max_mappings` mappings and `max_health` provider states,
    least recently used dropped first. Mappings also expire after their TTL.

    Args:
        max_mappings: Mappings kept.
        max_health: (router, model, provider) health states kept.
        clock: Monotonic clock, replaceable in tests.

    Example:
        >>> store = ProcessStore(max_mappings=100)
    """

    def __init__(
        self,
        max_mappings: int = MAX_MAPPING_ENTRIES,
        max_health: int = MAX_HEALTH_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.mapping_cache = MappingCache(clock=clock, max_entries=max_mappings)
        self.health_states = LocalHealthBook(clock, max_entries=max_health)
        self.catalog_cache = CatalogCache(clock=clock, max_entries=MAX_CATALOGS)
        self.speed_states = LocalSpeedBook(max_entries=max_health)

    def health_book(self) -> HealthBook:
        """Returns this process's health book."""
        return self.health_states

    def speed_book(self) -> LocalSpeedBook:
        """Returns this process's book of measured speeds."""
        return self.speed_states

    def fetch_catalog(self, key: Key, load: CatalogLoad, ttl: float) -> RouterCatalog:
        """Returns the catalog from this process's cache (one request per miss)."""
        return self.catalog_cache.fetch(key, load, ttl)

    async def afetch_catalog(self, key: Key, load: ACatalogLoad, ttl: float) -> RouterCatalog:
        """Async twin of `fetch_catalog`."""
        return await self.catalog_cache.afetch(key, load, ttl)

    def fetch_mapping(self, key: Key, load: Load, ttl: float) -> list[ProviderMapping]:
        """Returns the mapping from this process's cache (one Hub request per miss)."""
        return self.mapping_cache.fetch(key, load, ttl)

    async def afetch_mapping(self, key: Key, load: ALoad, ttl: float) -> list[ProviderMapping]:
        """Async twin of `fetch_mapping`."""
        return await self.mapping_cache.afetch(key, load, ttl)

    def clear(self) -> None:
        """Forgets every mapping, catalog and provider state (tests, diagnostics)."""
        self.mapping_cache.clear()
        self.health_states.clear()
        self.catalog_cache.clear()
        self.speed_states.clear()

    def __reduce__(self) -> str | tuple[type[ProcessStore], tuple[()]]:
        # The process's store unpickles as the unpickling process's own.
        return "PROCESS_STORE" if self is PROCESS_STORE else (ProcessStore, ())

    def __copy__(self) -> ProcessStore:
        return self  # state is shared, never copied

    def __deepcopy__(self, memo: dict[int, Any]) -> ProcessStore:
        return self


PROCESS_STORE = ProcessStore()


def _after_fork() -> None:
    """Gives a forked child's process store locks of its own (its state is kept)."""
    PROCESS_STORE.mapping_cache.after_fork()
    PROCESS_STORE.health_states.after_fork()
    PROCESS_STORE.catalog_cache.after_fork()
    PROCESS_STORE.speed_states.after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork)

_by_url: OrderedDict[str, StateStore] = OrderedDict()
_by_url_lock = threading.Lock()


def resolve_store(state: Any) -> StateStore:
    """Turns a model's `state=` setting into a store.

    Args:
        state: `None` or `"process"` for `PROCESS_STORE`; a `redis://`,
            `rediss://` or `unix://` URL for the process's `RedisStore` of that
            URL; or a `StateStore`.

    Returns:
        The store.

    Raises:
        ValueError: For any other value.
        ImportError: For a Redis URL when redis-py is not installed.

    Example:
        >>> resolve_store("process") is PROCESS_STORE
        True
    """
    if state is None or state == "process":
        return PROCESS_STORE
    if isinstance(state, StateStore):
        return state
    if isinstance(state, str) and state.startswith(("redis://", "rediss://", "unix://")):
        with _by_url_lock:
            store = _by_url.get(state)
            if store is None:
                from langchain_hfapi._state_redis import RedisStore

                store = _by_url[state] = RedisStore(state)
                while len(_by_url) > MAX_REDIS_STORES:
                    _by_url.popitem(last=False)
            _by_url.move_to_end(state)
            return store
    msg = "state must be 'process', a redis:// URL or a StateStore"
    raise ValueError(msg)
