"""Measured provider speeds kept in Redis, shared by every process.

One hash per (router URL, model, provider) with the fields `lat`, `lat_n`,
`tps` and `tps_n`, changed only by an atomic Lua script that folds one answer's
figures into the averages (as `LocalSpeedBook` does in a process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_hfapi._redis_link import Down
from langchain_hfapi._speeds import ALPHA, MAX_COUNTED, Speed, SpeedKey

if TYPE_CHECKING:
    from langchain_hfapi._state_redis import RedisStore

__all__ = ["SPEED_SCRIPTS", "SPEED_TTL", "RedisSpeedBook"]

SPEED_TTL = 86400.0  # seconds a provider's measured speed is kept without news

_RECORD = """
local alpha, cap = tonumber(ARGV[3]), tonumber(ARGV[4])
local function fold(field, value)
  if value == '' then return end
  local x = tonumber(value)
  local s = redis.call('HMGET', KEYS[1], field, field .. '_n')
  local old, n = tonumber(s[1]), tonumber(s[2]) or 0
  if old then x = alpha * x + (1 - alpha) * old end
  redis.call('HSET', KEYS[1], field, tostring(x), field .. '_n', tostring(math.min(n + 1, cap)))
end
fold('lat', ARGV[1])
fold('tps', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""
SPEED_SCRIPTS = {"speed": _RECORD}


def _figure(value: Any) -> float | None:
    return None if value is None else float(value)


class RedisSpeedBook:
    """Measured speeds in Redis hashes; the process's book while Redis is down."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store

    def record(self, key: SpeedKey, latency: float | None, throughput: float | None) -> None:
        """Adds one answer's figures to the key's averages (see `LocalSpeedBook`)."""
        name = self._store.speed_key(key)
        args = [
            "" if latency is None else repr(latency),
            "" if throughput is None else repr(throughput),
            repr(ALPHA),
            MAX_COUNTED,
            int(SPEED_TTL * 1000),
        ]
        got = self._store._call(
            lambda r: self._store.script("speed")(keys=[name], args=args, client=r)
        )
        if isinstance(got, Down):
            self._store.fallback.speed_states.record(key, latency, throughput)

    def speeds(self, keys: list[SpeedKey]) -> dict[SpeedKey, Speed]:
        """Returns the figures of the keys measured so far (one round trip)."""

        def read(r: Any) -> Any:
            pipe = r.pipeline(transaction=False)
            for key in keys:
                pipe.hmget(self._store.speed_key(key), "lat", "lat_n", "tps", "tps_n")
            return pipe.execute()

        got = self._store._call(read) if keys else []
        if isinstance(got, Down):
            return self._store.fallback.speed_states.speeds(keys)
        found = {}
        for key, (lat, lat_n, tps, tps_n) in zip(keys, got, strict=True):
            if lat is not None or tps is not None:
                n_lat, n_tps = int(float(lat_n or 0)), int(float(tps_n or 0))
                found[key] = Speed(_figure(lat), n_lat, _figure(tps), n_tps)
        return found
