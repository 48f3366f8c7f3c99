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

import httpx

from langchain_hfapi._async_client import AsyncHFClient
from langchain_hfapi._body_limits import BodyLimits
from langchain_hfapi._client import HFClient
from langchain_hfapi._client_core import CONNECT_TIMEOUT, ClientSettings
from langchain_hfapi._state import StateStore

__all__ = ["SAMPLING_FIELDS", "ModelRuntime", "client_settings", "sampling_params"]

SAMPLING_FIELDS = (
    "temperature",
    "max_tokens",
    "top_p",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "reasoning_effort",
)


def sampling_params(model: Any) -> dict[str, Any]:
    """Returns a model's request fields that were set (unset ones are not sent).

    Args:
        model: The chat model.

    Returns:
        Its sampling fields that are not `None`, `stop`, then `model_kwargs`.
    """
    params = {k: getattr(model, k) for k in SAMPLING_FIELDS if getattr(model, k) is not None}
    if model.stop:
        params["stop"] = model.stop
    return {**params, **model.model_kwargs}


def client_settings(model: Any) -> ClientSettings:
    """Builds the connection settings of a `ChatHuggingFaceAPI` from its fields.

    Args:
        model: The chat model.

    Returns:
        Its settings; a `timeout` connects within at most `CONNECT_TIMEOUT`.
    """
    timeout = model.timeout
    return ClientSettings(
        api_key=model.api_key,
        router_url=model.router_url,
        hub_url=model.hub_url,
        base_url=model.base_url,
        bill_to=model.bill_to,
        default_headers=model.default_headers or {},
        timeout=None
        if timeout is None
        else httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)),
        max_retries=model.max_retries,
        first_token_timeout=model.first_token_timeout,
        total_timeout=model.total_timeout,
        mapping_ttl=model.mapping_ttl,
        provider_cooldown=model.provider_cooldown,
        provider_failures=model.provider_failures,
        limits=BodyLimits(
            response=model.max_response_bytes,
            error=model.max_error_bytes,
            event=model.max_event_bytes,
            stream=model.max_stream_bytes,
            events_before_token=model.max_events_before_token,
        ),
    )


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
