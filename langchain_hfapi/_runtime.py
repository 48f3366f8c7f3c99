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

import operator
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import httpx

from langchain_hfapi._async_client import AsyncHFClient
from langchain_hfapi._body_limits import BodyLimits
from langchain_hfapi._client import HFClient
from langchain_hfapi._client_core import CONNECT_TIMEOUT, ClientSettings
from langchain_hfapi._lru import SharedLRU
from langchain_hfapi._state import StateStore

__all__ = [
    "SAMPLING_FIELDS",
    "SETTINGS_FIELDS",
    "ModelRuntime",
    "client_settings",
    "sampling_params",
]

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


SETTINGS_FIELDS = (
    "api_key",
    "router_url",
    "hub_url",
    "base_url",
    "bill_to",
    "default_headers",
    "timeout",
    "max_retries",
    "first_token_timeout",
    "total_timeout",
    "mapping_ttl",
    "provider_cooldown",
    "provider_failures",
    "max_response_bytes",
    "max_error_bytes",
    "max_event_bytes",
    "max_stream_bytes",
    "max_events_before_token",
)
_HEADERS = SETTINGS_FIELDS.index("default_headers")
_read_fields = operator.attrgetter(*SETTINGS_FIELDS)
MAX_SHARED_SETTINGS = 64  # distinct settings kept for freshly built models
_Client = TypeVar("_Client", HFClient, AsyncHFClient)


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
        default_headers=dict(model.default_headers or {}),
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


def _snapshot(fields: tuple[Any, ...]) -> tuple[Any, ...]:
    """Copies the headers out of a fields tuple, so that a change in place shows."""
    headers = fields[_HEADERS]
    if not headers:
        return fields
    return (*fields[:_HEADERS], dict(headers), *fields[_HEADERS + 1 :])


_SHARED_SETTINGS: SharedLRU[ClientSettings] = SharedLRU(MAX_SHARED_SETTINGS)


def shared_settings(model: Any, fields: tuple[Any, ...]) -> ClientSettings:
    """Returns the settings for these field values, built once per process (LRU).

    Models built per request with the same fields share one `ClientSettings`
    instead of checking and building it again.
    """
    headers = fields[_HEADERS]
    key = (*fields[:_HEADERS], tuple(sorted((headers or {}).items())), *fields[_HEADERS + 1 :])
    try:
        found = _SHARED_SETTINGS.get(key)
    except TypeError:  # a field value that cannot be hashed
        return client_settings(model)
    if found is None:
        found = client_settings(model)  # raises on settings that cannot be sent
        _SHARED_SETTINGS.put(key, found)
    return found


class _Slot(Generic[_Client]):
    """One built client and what it was built from: fields, httpx client, store."""

    def __init__(self, build: Callable[[ClientSettings, Any, StateStore], _Client]) -> None:
        self._build: Callable[[ClientSettings, Any, StateStore], _Client] = build
        self._held: tuple[tuple[Any, ...], Any, StateStore, _Client] | None = None

    def is_empty(self) -> bool:
        return self._held is None

    def _current(self, fields: tuple[Any, ...], http: Any, store: StateStore) -> _Client | None:
        held = self._held
        if held is not None and held[0] == fields and held[1] is http and held[2] is store:
            return held[3]
        return None

    def client(self, model: Any, http: Any, store: StateStore, lock: threading.Lock) -> _Client:
        fields = _read_fields(model)
        client = self._current(fields, http, store)  # the common case: no lock, one comparison
        if client is not None:
            return client
        with lock:
            client = self._current(fields, http, store)
            if client is None:
                client = self._build(shared_settings(model, fields), http, store)
                self._held = (_snapshot(fields), http, store, client)
            return client


class ModelRuntime:
    """The clients of one model, built on first use under a lock.

    A call compares the model's connection fields with those its client was
    built from (one tuple comparison); only a change builds new settings.

    Example:
        >>> runtime = ModelRuntime()
        >>> runtime.is_empty()
        True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sync = _Slot(lambda settings, http, store: HFClient(settings, http, store=store))
        self._async = _Slot(
            lambda settings, http, store: AsyncHFClient(settings, http, store=store)
        )

    def is_empty(self) -> bool:
        """Checks that no client was built yet."""
        return self._sync.is_empty() and self._async.is_empty()

    def sync_client(self, model: Any, http_client: Any, store: StateStore) -> HFClient:
        """Returns the sync client for the model's settings, building it if they changed.

        First use raced from many threads builds one client.

        Args:
            model: The chat model, whose connection fields are read.
            http_client: The user's `httpx.Client`, or None for the shared pool.
            store: The state store.

        Returns:
            The client.
        """
        return self._sync.client(model, http_client, store, self._lock)

    def async_client(self, model: Any, http_client: Any, store: StateStore) -> AsyncHFClient:
        """Async twin of `sync_client` (for `httpx.AsyncClient`)."""
        return self._async.client(model, http_client, store, self._lock)

    def __copy__(self) -> ModelRuntime:
        return ModelRuntime()

    def __deepcopy__(self, memo: dict[int, Any]) -> ModelRuntime:
        return ModelRuntime()

    def __reduce__(self) -> tuple[type[ModelRuntime], tuple[()]]:
        return (ModelRuntime, ())
