"""A small thread-safe LRU map, for what equal models share (settings, serializations)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

__all__ = ["SharedLRU"]

V = TypeVar("V")


class SharedLRU(Generic[V]):
    """Keeps the `size` most recently used values, by key, safe across threads.

    Args:
        size: Most entries kept; the least recently used goes first.

    Example:
        >>> cache: SharedLRU[int] = SharedLRU(2)
        >>> cache.put("a", 1)
        >>> cache.put("b", 2)
        >>> cache.put("c", 3)
        >>> cache.get("a") is None, cache.get("c")
        (True, 3)
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._values: OrderedDict[Hashable, V] = OrderedDict()

    def get(self, key: Hashable) -> V | None:
        """Returns the value kept for `key`, or None.

        Raises:
            TypeError: If the key cannot be hashed.
        """
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self._values.move_to_end(key)
            return found

    def put(self, key: Hashable, value: V) -> None:
        """Keeps `value` for `key`, dropping the least recently used beyond the size."""
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            if len(self._values) > self._size:
                self._values.popitem(last=False)

    def __len__(self) -> int:
        return len(self._values)
