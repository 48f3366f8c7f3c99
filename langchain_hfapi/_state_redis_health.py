"""Provider health kept in Redis: hashes changed only by atomic Lua scripts.

One hash per (router URL, model, provider) with the fields `failures`,
`open_until`, `probe_until` and `pause_until` (Unix seconds). The half-open
probe is claimed inside the admit script, so one process probes at a time.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from langchain_hfapi._health import MAX_PAUSE, HealthKey, log_transition
from langchain_hfapi._redis_link import Down

if TYPE_CHECKING:
    from langchain_hfapi._state_redis import RedisStore

__all__ = ["HEALTH_TTL", "SCRIPTS", "RedisHealthBook"]

HEALTH_TTL = 3600.0  # seconds a provider's failure count is kept without news

_ADMIT = """
local s = redis.call('HMGET', KEYS[1], 'failures', 'open_until', 'probe_until', 'pause_until')
local now = tonumber(ARGV[1])
if now < (tonumber(s[4]) or 0) then return 0 end
if (tonumber(s[1]) or 0) < tonumber(ARGV[2]) then return 1 end
if now < (tonumber(s[2]) or 0) or now < (tonumber(s[3]) or 0) then return 0 end
redis.call('HSET', KEYS[1], 'probe_until', tostring(now + tonumber(ARGV[3])))
return 2
"""
_FAIL = """
local now, cooldown, pause = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
local f = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('HSET', KEYS[1], 'probe_until', '0')
local tripped = 0
if f >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'open_until', tostring(now + cooldown))
  tripped = 1
end
if pause > 0 and now + pause > (tonumber(redis.call('HGET', KEYS[1], 'pause_until')) or 0) then
  redis.call('HSET', KEYS[1], 'pause_until', tostring(now + pause))
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {f, tripped}
"""
SCRIPTS = {"admit": _ADMIT, "fail": _FAIL}


class RedisHealthBook:
    """Provider health in Redis hashes, changed only by atomic Lua scripts.

    Times are Unix seconds of the calling hosts (keep their clocks in sync).
    While Redis is unavailable, the process's book answers instead.
    """

    def __init__(self, store: RedisStore) -> None:
        self._store = store

    def _local(self) -> Any:
        return self._store.fallback.health_states

    def admits(self, key: HealthKey, failures: int, cooldown: float) -> bool:
        name = self._store.health_key(key)
        now = time.time()
        got = self._store._call(
            lambda r: self._store.script("admit")(
                keys=[name], args=[repr(now), failures, repr(cooldown)], client=r
            )
        )
        if isinstance(got, Down):
            return bool(self._local().admits(key, failures, cooldown))
        if got == 2:
            log_transition(key, "half-open, one call probes")
        return bool(got)

    def cooldown_ends(self, key: HealthKey) -> float:
        name = self._store.health_key(key)
        got = self._store._call(lambda r: r.hmget(name, "open_until", "pause_until"))
        if isinstance(got, Down):
            return float(self._local().cooldown_ends(key))
        return max((float(v) for v in got if v is not None), default=0.0)

    def record_failure(
        self, key: HealthKey, failures: int, cooldown: float, pause: float | None = None
    ) -> None:
        name = self._store.health_key(key)
        pause = min(pause or 0.0, MAX_PAUSE)
        expiry = int((max(cooldown, pause) + HEALTH_TTL) * 1000)
        args = [repr(time.time()), failures, repr(cooldown), repr(pause), expiry]
        got = self._store._call(
            lambda r: self._store.script("fail")(keys=[name], args=args, client=r)
        )
        if isinstance(got, Down):
            self._local().record_failure(key, failures, cooldown, pause or None)
            return
        count, tripped = int(got[0]), int(got[1])
        if tripped:
            log_transition(key, f"open after {count} failures, skipped for {cooldown:g} s")
        if pause:
            log_transition(key, f"paused {pause:g} s (Retry-After)")

    def record_success(self, key: HealthKey) -> None:
        name = self._store.health_key(key)
        got = self._store._call(lambda r: r.delete(name))
        if isinstance(got, Down):
            self._local().record_success(key)
        elif got:
            log_transition(key, "closed (answered)")
