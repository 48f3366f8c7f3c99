"""Provider mappings from the Hub: parsing, provider selection and caching.

The Hub answers `GET /api/models/{id}?expand=inferenceProviderMapping` with
the mapping either as a dict keyed by provider or as a list of objects with a
`provider` key; both are read. The order is the user's provider preference.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_hfapi.errors import (
    APIConnectionError,
    ModelNotSupportedError,
    ProviderError,
)

__all__ = [
    "DEFAULT_MAPPING_TTL",
    "MappingCache",
    "ProviderMapping",
    "parse_mapping",
    "select_providers",
]

logger = logging.getLogger("langchain_hfapi")

DEFAULT_MAPPING_TTL = 300.0  # seconds a fetched mapping is fresh
NOT_FOUND_TTL = 30.0  # seconds a 404 from the Hub is remembered
CHAT_TASK = "conversational"  # the task chat models are registered under


@dataclass(frozen=True)
class ProviderMapping:
    """One provider entry of a model's mapping.

    Attributes:
        provider: The provider slug, e.g. "together".
        provider_id: The provider's own id for the model.
        status: "live", "staging" or "error".
        task: The task the provider serves the model for, e.g. "conversational".
    """

    provider: str
    provider_id: str | None
    status: str
    task: str

    def as_dict(self) -> dict[str, Any]:
        """Returns the entry as a plain dict (for the CLI and `get_mapping`)."""
        return {
            "provider": self.provider,
            "provider_id": self.provider_id,
            "status": self.status,
            "task": self.task,
        }


def _entry(provider: Any, value: Any) -> ProviderMapping | None:
    if not isinstance(provider, str) or not isinstance(value, dict):
        return None
    provider_id = value.get("providerId")
    return ProviderMapping(
        provider=provider,
        provider_id=provider_id if isinstance(provider_id, str) else None,
        status=str(value.get("status", "")),
        task=str(value.get("task", "")),
    )


def parse_mapping(data: Any) -> list[ProviderMapping]:
    """Parses a Hub model response (or its mapping value) into entries.

    Args:
        data: The decoded JSON of the Hub response, or the value of its
            `inferenceProviderMapping` key, in dict or list shape.

    Returns:
        The entries in the order given; malformed entries are skipped.

    Example:
        >>> parse_mapping({"together": {"status": "live", "task": "conversational"}})
        [ProviderMapping(provider='together', provider_id=None, status='live', task='conversational')]
    """  # noqa: E501
    if isinstance(data, dict) and {"inferenceProviderMapping", "id", "_id"} & data.keys():
        data = data.get("inferenceProviderMapping")  # a whole model answer
    if isinstance(data, dict):
        entries = [_entry(k, v) for k, v in data.items()]
    elif isinstance(data, list):
        entries = [_entry(item.get("provider"), item) for item in data if isinstance(item, dict)]
    else:
        entries = []
    return [e for e in entries if e is not None]


def select_providers(
    repo_id: str,
    mapping: Sequence[ProviderMapping],
    requested: Sequence[str] | None = None,
) -> list[ProviderMapping]:
    """Keeps the live chat providers, in mapping order or in the requested order.

    Args:
        repo_id: The model, for error messages.
        mapping: The model's mapping entries.
        requested: Provider slugs to restrict to, in the order to try them;
            `None` keeps every usable provider in the mapping's order.

    Returns:
        The usable entries, never empty.

    Raises:
        ModelNotSupportedError: If no entry is live and conversational (or none
            of the requested providers is); the message says why.
    """
    usable = [m for m in mapping if m.status == "live" and m.task == CHAT_TASK]
    if requested is not None:
        by_name = {m.provider: m for m in usable}
        usable = [by_name[p] for p in requested if p in by_name]
    if usable:
        return usable
    raise ModelNotSupportedError(_why_unusable(repo_id, mapping, requested))


def _why_unusable(
    repo_id: str, mapping: Sequence[ProviderMapping], requested: Sequence[str] | None
) -> str:
    if not mapping:
        return f"No inference provider serves {repo_id} (its provider mapping is empty)"
    seen = ", ".join(f"{m.provider} ({m.status}, {m.task})" for m in mapping)
    if requested is not None:
        return (
            f"None of the requested providers {list(requested)} serves {repo_id} "
            f"live for chat; the mapping lists: {seen}"
        )
    return f"No provider serves {repo_id} live for chat; the mapping lists: {seen}"


def cache_key(hub_url: str, token: str | None, repo_id: str) -> tuple[str, str, str]:
    """Builds the cache key; the token is hashed so it is never kept in clear."""
    digest = hashlib.sha256((token or "").encode()).hexdigest()[:16]
    return (hub_url, digest, repo_id)


@dataclass
class _Entry:
    value: list[ProviderMapping] | None  # None: remembered 404
    expires: float
    error: ModelNotSupportedError | None = None


Key = tuple[str, str, str]


class MappingCache:
    """A TTL cache of mappings with single-flight fetches and stale fallback.

    Concurrent misses for one key cause one Hub request (threads wait on a
    per-key lock; coroutines await one shared task). A 404 is remembered for
    `NOT_FOUND_TTL`. When the Hub is unreachable or failing and an expired
    entry exists, the expired entry is served and a warning is logged.

    Args:
        ttl: Seconds an entry is fresh.
        clock: Monotonic clock, replaceable in tests.
    """

    def __init__(
        self, ttl: float = DEFAULT_MAPPING_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[Key, _Entry] = {}
        self._guard = threading.Lock()
        self._locks: dict[Key, threading.Lock] = {}
        self._tasks: dict[Key, asyncio.Task[list[ProviderMapping]]] = {}

    def _fresh(self, key: Key) -> list[ProviderMapping] | None:
        entry = self._entries.get(key)
        if entry is None or entry.expires <= self._clock():
            return None
        if entry.error is not None:
            raise copy.copy(entry.error)  # a fresh instance: tracebacks do not pile up
        return entry.value

    def _store(self, key: Key, value: list[ProviderMapping]) -> None:
        self._entries[key] = _Entry(value, self._clock() + self.ttl)

    def _settle(self, key: Key, error: Exception) -> list[ProviderMapping]:
        """Remembers a 404, or serves a stale entry on a Hub outage."""
        if isinstance(error, ModelNotSupportedError):
            self._entries[key] = _Entry(None, self._clock() + NOT_FOUND_TTL, error)
            raise error
        stale = self._entries.get(key)
        if (
            isinstance(error, (APIConnectionError, ProviderError))
            and stale is not None
            and stale.value is not None
        ):
            logger.warning(
                "Hub unreachable (%s); using the provider mapping of %s cached %.0f s ago",
                type(error).__name__,
                key[2],
                self._clock() - (stale.expires - self.ttl),
            )
            return stale.value
        raise error

    def fetch(self, key: Key, load: Callable[[], list[ProviderMapping]]) -> list[ProviderMapping]:
        """Returns the cached mapping, calling `load` once on a miss.

        Args:
            key: From `cache_key`.
            load: Sends the Hub request and parses it.

        Returns:
            The mapping entries.

        Raises:
            ModelNotSupportedError: The Hub does not know the model (cached).
            HuggingFaceAPIError: The Hub failed and nothing stale is cached.
        """
        value = self._fresh(key)
        if value is not None:
            return value
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            value = self._fresh(key)
            if value is not None:
                return value
            try:
                value = load()
            except Exception as err:
                return self._settle(key, err)
            self._store(key, value)
            return value

    async def afetch(
        self, key: Key, load: Callable[[], Awaitable[list[ProviderMapping]]]
    ) -> list[ProviderMapping]:
        """Async twin of `fetch`: concurrent misses await one shared task.

        Args:
            key: From `cache_key`.
            load: Sends the Hub request and parses it.

        Returns:
            The mapping entries.
        """
        value = self._fresh(key)
        if value is not None:
            return value
        loop = asyncio.get_running_loop()
        task = self._tasks.get(key)
        if task is None or task.done() or task.get_loop() is not loop:
            task = loop.create_task(self._aload(key, load))
            self._tasks[key] = task
        return await asyncio.shield(task)

    async def _aload(
        self, key: Key, load: Callable[[], Awaitable[list[ProviderMapping]]]
    ) -> list[ProviderMapping]:
        try:
            value = await load()
        except Exception as err:
            return self._settle(key, err)
        finally:
            self._tasks.pop(key, None)
        self._store(key, value)
        return value
