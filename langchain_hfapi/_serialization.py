"""LangChain's `to_json` of a model, computed once per distinct field values.

langchain-core serializes every new chat model once, for the callbacks of its
first call (`dumpd`, even when no tracer is listening). For this class's 60
fields that walk costs about 0.25 ms, most of the extra cost of a call on a
freshly built model. Models built per request usually share their settings,
so the result is kept by field values (an LRU) and handed out as a fresh copy.

The key holds every serialized field's value with its type (so `1` and `1.0`
or `True` stay apart), containers frozen recursively, and for a secret only
whether it is set: the output never holds a secret's value, and neither does
the cache. A value that cannot be hashed skips the cache.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from langchain_hfapi._lru import SharedLRU

__all__ = ["MAX_SHARED_JSON", "shared_to_json"]

MAX_SHARED_JSON = 64  # distinct field values whose serialization is kept

_T = TypeVar("_T")
_CACHE: SharedLRU[Any] = SharedLRU(MAX_SHARED_JSON)


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


def _copied(value: Any) -> Any:
    """Copies the dicts and lists of a kept serialization, so that no caller changes it."""
    if type(value) is dict:
        return {k: _copied(v) for k, v in value.items()}
    if type(value) is list:
        return [_copied(v) for v in value]
    return value


def shared_to_json(model: Any, build: Callable[[], _T]) -> _T:
    """Returns `build()` (langchain-core's `to_json`), computed once per field values.

    Args:
        model: The chat model being serialized.
        build: The uncached serialization (`super().to_json`).

    Returns:
        A copy of the serialization of an earlier model with the same field
        values, or `build()` when there is none (or a value cannot be hashed).
    """
    names, values = field_values(model)
    secrets = model.lc_secrets
    key = (
        type(model),
        tuple(
            (value is not None, bool(value)) if name in secrets else frozen(value)
            for name, value in zip(names, values, strict=True)
        ),
    )
    try:
        found = _CACHE.get(key)
    except TypeError:  # a value that cannot be hashed
        return build()
    if found is None:
        found = build()
        _CACHE.put(key, found)
    copy: _T = _copied(found)
    return copy
