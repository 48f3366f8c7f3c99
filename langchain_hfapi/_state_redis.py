"""Provider health and Hub mappings shared by every process through Redis.

`RedisStore` keeps provider health (failure counts, cooldowns, the half-open
probe, `Retry-After` pauses) in Lua scripts, each one atomic, and the mapping
cache with its TTL and a single flight across processes (a lock key with an
expiry; waiters poll briefly, then fetch themselves). Keys (see docs/state.md):

- `{prefix}:v1:health:{sha256(router URL)[:16]}:{model}:{provider}` (hash)
- `{prefix}:v1:mapping:{sha256(Hub URL)[:16]}:{sha256(token)[:16]}:{model}`
- `{prefix}:v1:lock:mapping:...` (same tail as the mapping)
- `{prefix}:v1:catalog:{sha256(router URL)[:16]}:{sha256(token)[:16]}` (JSON)
- `{prefix}:v1:speed:{sha256(router URL)[:16]}:{model}:{provider}` (hash)

Redis never fails or noticeably delays a chat call: each command is bounded by
`timeout` (50 ms); on any Redis error the store uses this process's state,
warns once, and tries Redis again after a back-off (1 s, doubling to 30 s).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from langchain_hfapi._health import HealthKey
from langchain_hfapi._mapping import NOT_FOUND_TTL, Key, ProviderMapping
from langchain_hfapi._offers import RouterCatalog
from langchain_hfapi._pools import loop_resource
from langchain_hfapi._redact import redact
from langchain_hfapi._redis_link import DOWN, Down, Link, digest
from langchain_hfapi._state import (
    PROCESS_STORE,
    ACatalogLoad,
    ALoad,
    CatalogLoad,
    Load,
    ProcessStore,
    StateStore,
)
from langchain_hfapi._state_redis_health import SCRIPTS, RedisHealthBook
from langchain_hfapi._state_redis_speeds import SPEED_SCRIPTS, RedisSpeedBook
from langchain_hfapi.errors import ModelNotSupportedError

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["DEFAULT_PREFIX", "DEFAULT_REDIS_TIMEOUT", "RedisStore"]


DEFAULT_PREFIX = "hfapi"
VERSION = "v1"  # bumped when the layout of keys or values changes
DEFAULT_REDIS_TIMEOUT = 0.05  # seconds one Redis command may take before it is given up
LOCK_TTL = 30.0  # seconds a mapping lock outlives a holder that died
LOCK_WAIT = 3.0  # seconds a process waits for another's Hub request before its own
POLL = 0.02  # seconds between two looks at a mapping being fetched elsewhere

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_T = TypeVar("_T")


def _encode(value: list[ProviderMapping]) -> str:
    return json.dumps({"mapping": [m.as_dict() for m in value]})


def _decode(raw: Any, model: str) -> list[ProviderMapping] | None:
    """Decodes a stored mapping; raises a stored 404; None for anything unreadable."""
    try:
        data = json.loads(raw)
        if "missing" in data:
            missing = str(data["missing"])
        else:
            return [ProviderMapping(**entry) for entry in data["mapping"]]
    except (ValueError, TypeError, KeyError):
        return None
    raise ModelNotSupportedError(missing, status_code=404, model=model, provider="hub")


def _decode_catalog(raw: Any) -> RouterCatalog | None:
    """Decodes a stored catalog; None for anything unreadable."""
    try:
        return RouterCatalog.from_json(json.loads(raw))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


class RedisStore(StateStore):
    """State shared by every process using one Redis: health and mappings.

    Needs `pip install 'langchain-hfapi[redis]'` (redis-py, imported here
    only). Without Redis, or when it is slow, calls use this process's state.

    Args:
        url: The Redis URL, e.g. "redis://127.0.0.1:6379/0".
        prefix: First part of every key (then the layout version "v1").
        timeout: Seconds one Redis command may take (connect and reply) before
            the store falls back to this process's state.
        lock_wait: Seconds to wait for another process's Hub request.
        fallback: The process store used while Redis is unavailable.

    Raises:
        ImportError: If redis-py is not installed.

    Example:
        >>> store = RedisStore("redis://127.0.0.1:6379/0")  # doctest: +SKIP
        >>> llm = ChatHuggingFaceAPI(model="llama-3.3-70b", state=store)  # doctest: +SKIP
    """

    health_blocks = True  # async calls send health commands from a thread

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout: float = DEFAULT_REDIS_TIMEOUT,
        lock_wait: float = LOCK_WAIT,
        fallback: ProcessStore | None = None,
    ) -> None:
        try:
            import redis  # noqa: F401  (checked here, used in _connect)
        except ImportError as err:
            msg = "RedisStore needs redis-py: pip install 'langchain-hfapi[redis]'"
            raise ImportError(msg) from err
        self.url = url
        self.prefix = f"{prefix}:{VERSION}"
        self.timeout = timeout
        self.lock_wait = lock_wait
        self.fallback = fallback if fallback is not None else PROCESS_STORE
        self._link = Link(url)
        self._lock = threading.Lock()
        self._sync: redis.Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._book = RedisHealthBook(self)
        self._speeds = RedisSpeedBook(self)

    def __repr__(self) -> str:
        return f"RedisStore({redact(self.url)!r}, prefix={self.prefix!r})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_rebuild, (self.url, self.prefix.rsplit(":", 1)[0], self.timeout, self.lock_wait))

    def __copy__(self) -> RedisStore:
        return self  # state is shared, never copied

    def __deepcopy__(self, memo: dict[int, Any]) -> RedisStore:
        return self

    # --- keys ---------------------------------------------------------------

    def health_key(self, key: HealthKey) -> str:
        """Returns the Redis key of a (router URL, model, provider) health state."""
        return f"{self.prefix}:health:{digest(key[0])}:{key[1]}:{key[2]}"

    def mapping_key(self, key: Key) -> str:
        """Returns the Redis key of a (Hub URL, token hash, model) mapping."""
        return f"{self.prefix}:mapping:{digest(key[0])}:{key[1]}:{key[2]}"

    def speed_key(self, key: HealthKey) -> str:
        """Returns the Redis key of a (router URL, model, provider) measured speed."""
        return f"{self.prefix}:speed:{digest(key[0])}:{key[1]}:{key[2]}"

    def catalog_key(self, key: Key) -> str:
        """Returns the Redis key of a (router URL, token hash) catalog."""
        return f"{self.prefix}:catalog:{digest(key[0])}:{key[1]}"

    def _lock_key(self, key: Key) -> str:
        return f"{self.prefix}:lock:mapping:{digest(key[0])}:{key[1]}:{key[2]}"

    # --- connections ----------------------------------------------------------

    def available(self) -> bool:
        """Checks whether Redis is in use now (False during a back-off)."""
        return self._link.usable()

    def _connect(self) -> redis.Redis:
        import redis  # lazily: only a Redis user needs it
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        with self._lock:
            if self._sync is None:
                half = self.timeout / 2  # connect + reply fit in `timeout`
                self._sync = redis.Redis.from_url(
                    self.url,
                    socket_timeout=half,
                    socket_connect_timeout=half,
                    retry=Retry(NoBackoff(), 0),
                )
                for name, lua in {**SCRIPTS, **SPEED_SCRIPTS, "release": _RELEASE}.items():
                    self._scripts[name] = self._sync.register_script(lua)
            return self._sync

    def _call(self, op: Callable[[redis.Redis], _T]) -> _T | Down:
        """Runs one Redis operation; `DOWN` when Redis is unavailable."""
        if not self._link.usable():
            return DOWN

        client = self._connect()
        try:
            result = op(client)
        except Exception as err:  # whatever Redis does, the chat call goes on
            self._link.failed(err)
            # A restarted Redis: no stale idle connection left for the next try.
            client.connection_pool.disconnect(inuse_connections=False)
            return DOWN
        self._link.succeeded()
        return result

    def script(self, name: str) -> Any:
        """Returns a registered Lua script ("admit", "fail" or "release")."""
        self._connect()
        return self._scripts[name]

    async def _aconnect(self) -> redis.asyncio.Redis:
        import redis.asyncio
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        half = self.timeout / 2

        def make() -> redis.asyncio.Redis:
            return redis.asyncio.Redis.from_url(
                self.url,
                socket_timeout=half,
                socket_connect_timeout=half,
                retry=Retry(NoBackoff(), 0),
            )

        return await loop_resource(f"redis:{id(self)}", make, lambda r: r.aclose())

    async def _acall(self, op: Callable[[redis.asyncio.Redis], Awaitable[_T]]) -> _T | Down:
        """Async twin of `_call`, bounded by `timeout` as a whole."""
        if not self._link.usable():
            return DOWN

        try:
            result = await asyncio.wait_for(op(await self._aconnect()), self.timeout)
        except Exception as err:  # whatever Redis does, the chat call goes on
            self._link.failed(err)
            return DOWN
        self._link.succeeded()
        return result

    # --- StateStore -----------------------------------------------------------

    def health_book(self) -> RedisHealthBook:
        """Returns the book kept in Redis (this process's while Redis is down)."""
        return self._book

    def speed_book(self) -> RedisSpeedBook:
        """Returns the book of measured speeds kept in Redis."""
        return self._speeds

    def fetch_catalog(self, key: Key, load: CatalogLoad, ttl: float) -> RouterCatalog:
        """Returns the catalog: this process's cache, then Redis, then one request."""

        def shared() -> RouterCatalog:
            name = self.catalog_key(key)
            raw = self._call(lambda r: r.get(name))
            found = None if isinstance(raw, Down) or raw is None else _decode_catalog(raw)
            if found is not None:
                return found
            value = load()
            body = json.dumps(value.to_json())
            self._call(lambda r: r.set(name, body, px=max(int(ttl * 1000), 1)))
            return value

        return self.fallback.catalog_cache.fetch(key, shared, ttl)

    async def afetch_catalog(self, key: Key, load: ACatalogLoad, ttl: float) -> RouterCatalog:
        """Async twin of `fetch_catalog`."""

        async def shared() -> RouterCatalog:
            name = self.catalog_key(key)
            raw = await self._acall(lambda r: r.get(name))
            found = None if isinstance(raw, Down) or raw is None else _decode_catalog(raw)
            if found is not None:
                return found
            value = await load()
            body = json.dumps(value.to_json())
            await self._acall(lambda r: r.set(name, body, px=max(int(ttl * 1000), 1)))
            return value

        return await self.fallback.catalog_cache.afetch(key, shared, ttl)

    def fetch_mapping(self, key: Key, load: Load, ttl: float) -> list[ProviderMapping]:
        """Returns the mapping: this process's cache, then Redis, then one Hub request."""
        return self.fallback.mapping_cache.fetch(key, lambda: self._shared(key, load, ttl), ttl)

    async def afetch_mapping(self, key: Key, load: ALoad, ttl: float) -> list[ProviderMapping]:
        """Async twin of `fetch_mapping`."""
        return await self.fallback.mapping_cache.afetch(
            key, lambda: self._ashared(key, load, ttl), ttl
        )

    def _shared(self, key: Key, load: Load, ttl: float) -> list[ProviderMapping]:
        name, lock = self.mapping_key(key), self._lock_key(key)
        raw = self._call(lambda r: r.get(name))
        if isinstance(raw, Down):
            return load()
        value = None if raw is None else _decode(raw, key[2])
        if value is not None:
            return value
        token = uuid.uuid4().hex
        got = self._call(lambda r: r.set(lock, token, nx=True, px=int(LOCK_TTL * 1000)))
        if got is False or got is None:  # another process fetches: wait for its answer
            deadline = time.monotonic() + self.lock_wait
            while time.monotonic() < deadline:
                time.sleep(POLL)
                both = self._call(lambda r: r.mget(name, lock))
                if isinstance(both, Down) or (both[1] is None and both[0] is None):
                    break  # Redis left, or the other fetch failed: fetch here
                value = None if both[0] is None else _decode(both[0], key[2])
                if value is not None:
                    return value
            return self._publish(key, load, ttl)
        try:
            return self._publish(key, load, ttl)
        finally:
            if not isinstance(got, Down):
                self._call(lambda r: self.script("release")(keys=[lock], args=[token], client=r))

    def _publish(self, key: Key, load: Load, ttl: float) -> list[ProviderMapping]:
        name = self.mapping_key(key)
        try:
            value = load()
        except ModelNotSupportedError as err:
            body = json.dumps({"missing": err.message})
            self._call(lambda r: r.set(name, body, px=int(NOT_FOUND_TTL * 1000)))
            raise
        body = _encode(value)
        self._call(lambda r: r.set(name, body, px=max(int(ttl * 1000), 1)))
        return value

    async def _ashared(self, key: Key, load: ALoad, ttl: float) -> list[ProviderMapping]:
        name, lock = self.mapping_key(key), self._lock_key(key)
        raw = await self._acall(lambda r: r.get(name))
        if isinstance(raw, Down):
            return await load()
        value = None if raw is None else _decode(raw, key[2])
        if value is not None:
            return value
        token = uuid.uuid4().hex
        got = await self._acall(lambda r: r.set(lock, token, nx=True, px=int(LOCK_TTL * 1000)))
        if got is False or got is None:
            deadline = time.monotonic() + self.lock_wait
            while time.monotonic() < deadline:
                await asyncio.sleep(POLL)
                both = await self._acall(lambda r: r.mget(name, lock))
                if isinstance(both, Down) or (both[1] is None and both[0] is None):
                    break
                value = None if both[0] is None else _decode(both[0], key[2])
                if value is not None:
                    return value
            return await self._apublish(key, load, ttl)
        try:
            return await self._apublish(key, load, ttl)
        finally:
            if not isinstance(got, Down):
                await self._acall(lambda r: r.eval(_RELEASE, 1, lock, token))

    async def _apublish(self, key: Key, load: ALoad, ttl: float) -> list[ProviderMapping]:
        name = self.mapping_key(key)
        try:
            value = await load()
        except ModelNotSupportedError as err:
            body = json.dumps({"missing": err.message})
            await self._acall(lambda r: r.set(name, body, px=int(NOT_FOUND_TTL * 1000)))
            raise
        body = _encode(value)
        await self._acall(lambda r: r.set(name, body, px=max(int(ttl * 1000), 1)))
        return value


def _rebuild(url: str, prefix: str, timeout: float, lock_wait: float) -> RedisStore:
    return RedisStore(url, prefix=prefix, timeout=timeout, lock_wait=lock_wait)
