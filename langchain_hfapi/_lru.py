"""A small thread-safe LRU map, and keys made of a model's field values.

Work that depends only on a model's settings (checking them, serializing the
model) is done once per distinct values and shared by the models built
later with the same ones, e.g. one model per request.
"""

from __future__ import annotations

import operator
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["SharedLRU", "field_values", "frozen"]

V = TypeVar("V")


class SharedLRU(Generic[V]):
    """Keeps the `size` most recently used values, by key, safe across threads.

    Args:
        size: Most entries kept; the least recently used goes first.

    Example:
        >>> cache: SharedLRU[int] = SharedLRU(2)
        >>> cache.put("a", 1)
        ... cache.put("b", 2)
        ... cache.put("c", 3)
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


_getters: dict[type, tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {}


def field_values(model: Any) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """Reads a pydantic model's serialized (not excluded) fields.

    Args:
        model: A pydantic model instance.

    Returns:
        The field names, in declaration order, and their current values.
    """
    cls = type(model)
    found = _getters.get(cls)
    if found is None:
        names = tuple(name for name, field in cls.model_fields.items() if not field.exclude)
        getter = operator.attrgetter(*names)
        read = getter if len(names) > 1 else (lambda m: (getter(m),))
        found = _getters[cls] = (names, read)
    return found[0], found[1](model)


def frozen(value: Any) -> Hashable:
    """Returns a hashable stand-in for a value, types included (`1`, `1.0`, `True` differ).

    Dicts, lists and tuples are frozen recursively; a value that cannot be
    hashed makes hashing the result raise `TypeError`.

    Example:
        >>> frozen({"a": [1]}) == frozen({"a": [1.0]})
        False
    """
    kind = type(value)
    if kind is dict:
        return (dict, tuple((k, frozen(v)) for k, v in value.items()))
    if kind is list or kind is tuple:
        return (kind, tuple(frozen(v) for v in value))
    return (kind, value)
