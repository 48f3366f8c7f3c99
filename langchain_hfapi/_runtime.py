"""A model's runtime objects: its clients, derived from its current settings.

`ModelRuntime` holds the sync and async clients of one `ChatHuggingFaceAPI`
and rebuilds them whenever the settings they were built from change (a field
set after construction, `model_copy(update=...)`). The clients are light: the
pools and the state they use are the process's (`_pools`, `_state`), so
rebuilding one costs no connection and forgets no state.

A runtime is never copied or pickled: copies and unpickled models start with
an empty one, and build their clients on first use.
"""

from __future__ import annotations

import threading
from typing import Any

from langchain_hfapi._async_client import AsyncHFClient
from langchain_hfapi._client import HFClient
from langchain_hfapi._client_core import ClientSettings
from langchain_hfapi._state import StateStore

__all__ = ["ModelRuntime"]


class ModelRuntime:
    """The clients of one model, built on first use under a lock.

    Example:
        >>> runtime = ModelRuntime()
        >>> runtime.is_empty()
        True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sync: tuple[tuple[Any, ...], HFClient] | None = None
        self._async: tuple[tuple[Any, ...], AsyncHFClient] | None = None

    def is_empty(self) -> bool:
        """Checks that no client was built yet."""
        return self._sync is None and self._async is None

    @staticmethod
    def _same(built: tuple[Any, ...], wanted: tuple[Any, ...]) -> bool:
        settings, http, store = built
        return bool(settings == wanted[0]) and http is wanted[1] and store is wanted[2]

    def sync_client(
        self, settings: ClientSettings, http_client: Any, store: StateStore
    ) -> HFClient:
        """Returns the sync client for these settings, building it if they changed.

        First use raced from many threads builds one client.

        Args:
            settings: The model's current connection settings.
            http_client: The user's `httpx.Client`, or None for the shared pool.
            store: The state store.

        Returns:
            The client.
        """
        wanted = (settings, http_client, store)
        with self._lock:
            held = self._sync
            if held is None or not self._same(held[0], wanted):
                held = self._sync = (wanted, HFClient(settings, http_client, store=store))
            return held[1]

    def async_client(
        self, settings: ClientSettings, http_client: Any, store: StateStore
    ) -> AsyncHFClient:
        """Async twin of `sync_client` (for `httpx.AsyncClient`)."""
        wanted = (settings, http_client, store)
        with self._lock:
            held = self._async
            if held is None or not self._same(held[0], wanted):
                client = AsyncHFClient(settings, http_client, store=store)
                held = self._async = (wanted, client)
            return held[1]

    def __copy__(self) -> ModelRuntime:
        return ModelRuntime()

    def __deepcopy__(self, memo: dict[int, Any]) -> ModelRuntime:
        return ModelRuntime()

    def __reduce__(self) -> tuple[type[ModelRuntime], tuple[()]]:
        return (ModelRuntime, ())
