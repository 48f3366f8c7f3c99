"""Connection pools shared by every model of the process.

One SSL context is built per process (loading the CA bundle costs ~20 ms).
The pools are httpx transports: requests carry their own headers and
timeouts, so one sync pool serves the process, closed at interpreter exit.
Async pools are kept per event loop, since connections cannot move between
loops. A loop's pools are closed when the loop shuts its async generators
down (`asyncio.run`, test runners) or, for a loop simply closed, from
`loop.close()` itself. A forked child starts with no pool (the parent's
sockets are left to the parent).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import ssl
import threading
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

import httpx

__all__ = [
    "CONNECTION_LIMITS",
    "POOL_KEY",
    "async_pool",
    "close_all",
    "loop_resource",
    "open_async_pools",
    "ssl_context",
    "sync_pool",
]

# One connection per concurrent request (HTTP/1.1 streams cannot share one), no
# cap: requests queued in httpcore's pool cost O(queued x connections) on every
# state change (benchmarks/load.py, 2,000 concurrent streams: ~140 s a round with
# a cap of 1,000, ~14 s without).
CONNECTION_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=100)
POOL_KEY = "httpx"  # the loop's connection pool among what it holds

_T = TypeVar("_T")
_lock = threading.Lock()
_ssl: ssl.SSLContext | None = None
_sync: httpx.HTTPTransport | None = None


class _Held(NamedTuple):
    value: Any
    is_closed: Callable[[], bool]
    closer: AsyncGenerator[None, None]


class _LoopPools:
    """What one event loop holds (pools, Redis clients), by key."""

    def __init__(self) -> None:
        self.by_key: dict[str, _Held] = {}


# Loop -> what it holds. The pools are owned by the loop (its wrapped `close`), so
# a loop dropped unclosed is collected with them; only for a loop type that cannot
# be wrapped are they held here, until the loop is seen closed (`_sweep`).
_loops: dict[
    int, tuple[weakref.ref[asyncio.AbstractEventLoop], Callable[[], _LoopPools | None]]
] = {}


def ssl_context() -> ssl.SSLContext:
    """Returns the process's SSL context, built by httpx on first use.

    Returns:
        The context every pool made here verifies servers with.
    """
    global _ssl
    with _lock:
        if _ssl is None:
            _ssl = httpx.create_ssl_context()
        return _ssl


def sync_pool() -> httpx.HTTPTransport:
    """Returns the process's sync connection pool.

    First use raced from many threads creates one pool. Requests carry their
    own timeouts (`extensions["timeout"]`), so one pool serves every model.

    Returns:
        An open `httpx.HTTPTransport` (no redirects, wide pool); never close it.
    """
    global _sync
    pool = _sync
    if pool is not None:
        return pool
    context = ssl_context()
    with _lock:
        if _sync is None:
            _sync = httpx.HTTPTransport(verify=context, limits=CONNECTION_LIMITS)
        return _sync


async def async_pool() -> httpx.AsyncHTTPTransport:
    """Returns the running loop's connection pool.

    Returns:
        An open `httpx.AsyncHTTPTransport`, created on first use in this loop.
    """

    def make() -> httpx.AsyncHTTPTransport:
        return httpx.AsyncHTTPTransport(verify=ssl_context(), limits=CONNECTION_LIMITS)

    pool: httpx.AsyncHTTPTransport = await loop_resource(POOL_KEY, make, lambda t: t.aclose())
    return pool


async def loop_resource(
    key: str,
    make: Callable[[], _T],
    aclose: Callable[[_T], Awaitable[None]],
    is_closed: Callable[[_T], bool] = lambda _: False,
) -> _T:
    """Returns the running loop's object for `key`, made on first use.

    The object is closed with `aclose` when the loop shuts its async generators
    down or is closed.

    Args:
        key: Names the object among the loop's others.
        make: Creates it.
        aclose: Closes it (awaited on the loop).
        is_closed: Whether it was closed by someone else (then it is remade).

    Returns:
        The object.
    """
    pools = _pools_of(asyncio.get_running_loop())
    held = pools.by_key.get(key)
    if held is None or held.is_closed():
        value = make()
        closer = _close_at_loop_shutdown(lambda: aclose(value))
        await closer.asend(None)  # registers it with the loop's asyncgen hooks
        held = pools.by_key[key] = _Held(value, lambda: is_closed(value), closer)
    result: _T = held.value
    return result


def _pools_of(loop: asyncio.AbstractEventLoop) -> _LoopPools:
    with _lock:
        held = _loops.get(id(loop))
        found = held[1]() if held is not None and held[0]() is loop else None
    if found is not None:
        return found
    _sweep()
    pools = _LoopPools()
    owned = _release_on_close(loop, pools)
    with _lock:
        _loops[id(loop)] = (weakref.ref(loop), weakref.ref(pools) if owned else lambda: pools)
    return pools


def _release_on_close(loop: asyncio.AbstractEventLoop, pools: _LoopPools) -> bool:
    """Makes `loop.close()` close the loop's pools first, if the loop allows it.

    Returns:
        Whether the loop now owns the pools (through its wrapped `close`).
    """
    original: Callable[[], None] = loop.close
    loop_ref = weakref.ref(loop)

    def close() -> None:
        running = loop_ref()
        if running is not None and not running.is_running() and not running.is_closed():
            _close_pools(running, pools)
        original()

    try:
        loop.close = close  # type: ignore[method-assign]
    except AttributeError:  # a loop type without instance attributes
        return False
    return True


def _close_pools(loop: asyncio.AbstractEventLoop, pools: _LoopPools) -> None:
    """Closes a stopped loop's pools by running their closers on it."""
    with _lock:
        _loops.pop(id(loop), None)
    open_ones = [held for held in pools.by_key.values() if not held.is_closed()]
    pools.by_key.clear()
    for entry in open_ones:
        with contextlib.suppress(Exception):
            loop.run_until_complete(entry.closer.aclose())


def _sweep() -> None:
    """Forgets the pools of loops that are closed or gone."""
    with _lock:
        for key, (ref, get) in list(_loops.items()):
            loop = ref()
            if loop is None or loop.is_closed() or get() is None:
                del _loops[key]


def open_async_pools() -> int:
    """Counts the async pools still open, for tests and diagnostics.

    Returns:
        Open `httpx.AsyncClient` pools across every live loop.
    """
    _sweep()
    with _lock:
        held = [p for p in (get() for _, get in _loops.values()) if p is not None]
    return sum(1 for p in held for k, e in p.by_key.items() if k == POOL_KEY and not e.is_closed())


async def _close_at_loop_shutdown(
    aclose: Callable[[], Awaitable[None]],
) -> AsyncGenerator[None, None]:
    """Runs `aclose` when the generator is closed (at loop shutdown)."""
    try:
        yield
    finally:
        await aclose()
        # Transports close their sockets on the next loop iteration; let it run
        # before the loop itself is closed.
        await asyncio.sleep(0)
        await asyncio.sleep(0)


def _forget_after_fork() -> None:
    """In a forked child: drops the parent's pools without closing them.

    Their sockets (and TLS sessions) are the parent's too; closing them here
    would break its requests. The child builds its own on first use.
    """
    global _lock, _sync, _loops
    _lock = threading.Lock()
    _sync = None
    _loops = {}


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_forget_after_fork)


@atexit.register
def close_all() -> None:
    """Closes the process's sync pool (run at interpreter exit)."""
    global _sync
    with _lock:
        pool, _sync = _sync, None
    if pool is not None:
        pool.close()
