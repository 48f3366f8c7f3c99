"""Fetching the router's catalog (`GET /v1/models`) through the state store.

The catalog is fetched when a call first needs it (never when a model is
built), within `FETCH_TIMEOUT` (or the call's shorter bounds), then served
from the store (the process's, or Redis) until its TTL passes; concurrent
misses send one request. When the router cannot list its
models, calls go on without the catalog: a warning names, once per router
and feature, what is degraded, and the catalog is not asked again for
`RETRY_AFTER` seconds, so no call waits on it meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx

from langchain_hfapi._async_client import AsyncHFClient
from langchain_hfapi._client import HFClient
from langchain_hfapi._mapping import Key, cache_key
from langchain_hfapi._offers import RouterCatalog, parse_catalog
from langchain_hfapi.errors import APIConnectionError, APITimeoutError, HuggingFaceAPIError

__all__ = [
    "DEFAULT_CATALOG_TTL",
    "RETRY_AFTER",
    "afetch_catalog",
    "cached_catalog",
    "catalog_url",
    "fetch_catalog",
    "forget_failures",
]

logger = logging.getLogger("langchain_hfapi")

DEFAULT_CATALOG_TTL = 600.0  # seconds a fetched catalog stays fresh
RETRY_AFTER = 30.0  # seconds an unreachable catalog is not asked again
FETCH_TIMEOUT = 5.0  # seconds, at most, a call waits on the catalog (connect, each read)

_lock = threading.Lock()
_down_until: dict[str, float] = {}
_warned: set[tuple[str, str]] = set()


def catalog_url(router_url: str) -> str:
    """Returns the URL of the router's model list."""
    return router_url.rstrip("/") + "/v1/models"


def _token(client: HFClient | AsyncHFClient) -> str | None:
    key = client.settings.api_key
    return key.get_secret_value() if key is not None else None


def _key(client: HFClient | AsyncHFClient) -> Key | None:
    """The cache key; None when the call cannot reach the router at all."""
    token = _token(client)
    if not token and client.settings.token_required:
        return None  # the call itself reports the missing token
    return cache_key(client.settings.router_url, token, "")


def _bound(settings: Any) -> httpx.Timeout:
    """The catalog request's timeout: `FETCH_TIMEOUT`, or less when the call allows less."""
    limits = [FETCH_TIMEOUT, settings.total_timeout, settings.first_token_timeout]
    timeout = settings.timeout
    if isinstance(timeout, httpx.Timeout):
        limits += [timeout.connect, timeout.read]
    elif isinstance(timeout, (int, float)):
        limits.append(timeout)
    return httpx.Timeout(min(x for x in limits if x is not None))


def _catalog_client(client: HFClient) -> HFClient:
    """A client for the catalog request: the same transport, a shorter timeout."""
    settings = replace(client.settings, timeout=_bound(client.settings))
    return HFClient(settings, client.given, store=client.store)  # the user's client, if any


def _is_down(url: str) -> bool:
    with _lock:
        return _down_until.get(url, 0.0) > time.monotonic()


def _went_down(url: str, error: Exception, features: list[str]) -> None:
    with _lock:
        _down_until[url] = time.monotonic() + RETRY_AFTER
        fresh = [f for f in features if (url, f) not in _warned]
        _warned.update((url, f) for f in fresh)
    if fresh:
        logger.warning(
            "The router's catalog (%s) could not be read (%s: %s); going on without: %s",
            url,
            type(error).__name__,
            error,
            ", ".join(fresh),
        )


def forget_failures() -> None:
    """Forgets unreachable catalogs and the warnings given (tests, diagnostics)."""
    with _lock:
        _down_until.clear()
        _warned.clear()


def _parse(data: Any) -> RouterCatalog:
    try:
        return parse_catalog(data)
    except ValueError as err:
        raise HuggingFaceAPIError(str(err)) from err


@contextlib.contextmanager
def _unreachable() -> Iterator[None]:
    """Any failure of the catalog request leaves the call going on without it.

    A transport other than httpx's (a user's mock, a test recorder) may raise
    anything; it is reported as an unreachable catalog, never raised.
    """
    try:
        yield
    except HuggingFaceAPIError:
        raise
    except Exception as err:
        msg = f"the catalog request failed ({type(err).__name__})"
        raise APIConnectionError(msg) from err


def _nothing() -> None:
    """No check before the request."""


def fetch_catalog(
    client: HFClient, ttl: float, features: list[str], check: Callable[[], None] = _nothing
) -> RouterCatalog | None:
    """Returns the router's catalog from the store, fetching it on a miss.

    Args:
        client: The sync client (its settings name the router; its store
            caches the catalog).
        ttl: Seconds a fetched catalog stays fresh.
        features: What the call uses the catalog for, named in the warning
            when it cannot be read.
        check: Runs before the request, on a miss only (a call's own checks,
            so that a local mistake is refused before any request).

    Returns:
        The catalog, or None when it cannot be read.

    Raises:
        ValueError: From `check`.
    """
    key = _key(client)
    url = catalog_url(client.settings.router_url)
    if key is None or _is_down(url):
        return None

    def load() -> RouterCatalog:
        check()
        with _unreachable():
            return _parse(_catalog_client(client).get_json(url))

    try:
        return client.store.fetch_catalog(key, load, ttl)
    except HuggingFaceAPIError as err:
        _went_down(url, err, features)
        return None


async def afetch_catalog(
    client: AsyncHFClient, ttl: float, features: list[str], check: Callable[[], None] = _nothing
) -> RouterCatalog | None:
    """Async twin of `fetch_catalog`."""
    key = _key(client)
    url = catalog_url(client.settings.router_url)
    if key is None or _is_down(url):
        return None

    async def load() -> RouterCatalog:
        check()
        with _unreachable():  # the loop's own pool, the wait bounded as a whole
            try:
                data = await asyncio.wait_for(client.get_json(url), _bound(client.settings).read)
            except asyncio.TimeoutError:
                raise APITimeoutError(f"no catalog from {url} in time") from None
            return _parse(data)

    try:
        return await client.store.afetch_catalog(key, load, ttl)
    except HuggingFaceAPIError as err:
        _went_down(url, err, features)
        return None


def cached_catalog(store: Any, router_url: str, token: str | None) -> RouterCatalog | None:
    """Returns the process's cached catalog without any request (None on a miss).

    Args:
        store: The state store.
        router_url: The router's base URL.
        token: The token the catalog was fetched with.

    Returns:
        The fresh cached catalog, or None.
    """
    cache = getattr(getattr(store, "fallback", store), "catalog_cache", None)
    if cache is None:
        return None
    try:
        found: RouterCatalog | None = cache.peek(cache_key(router_url, token, ""))
    except HuggingFaceAPIError:
        return None
    return found
