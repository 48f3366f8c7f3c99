"""Checks of `ChatHuggingFaceAPI` settings, run at construction (no I/O)."""

from __future__ import annotations

import warnings
from collections.abc import Collection
from typing import Any

__all__ = ["check_settings", "collect_extra_kwargs"]

_POSITIVE_SECONDS = ("timeout", "first_token_timeout", "mapping_ttl", "provider_cooldown")
_POSITIVE_COUNTS = ("max_tokens", "max_input_chars", "provider_failures")


def collect_extra_kwargs(values: Any, known: Collection[str]) -> Any:
    """Moves unknown constructor kwargs into `model_kwargs`, with a warning each.

    Args:
        values: The raw constructor input.
        known: Field names and aliases of the model.

    Returns:
        The input with the unknown keys moved into `model_kwargs`.
    """
    if not isinstance(values, dict):
        return values
    extra = {k: values.pop(k) for k in list(values) if k not in known}
    for name in extra:
        warnings.warn(
            f"{name!r} is not a ChatHuggingFaceAPI field; it is sent in the request body "
            "through model_kwargs",
            stacklevel=5,
        )
    if extra:
        values["model_kwargs"] = {**(values.get("model_kwargs") or {}), **extra}
    return values


def check_settings(model: Any) -> None:
    """Checks the numeric settings of a chat model.

    Args:
        model: A `ChatHuggingFaceAPI`.

    Raises:
        ValueError: If a timeout, TTL or cooldown is not positive, a count is
            below 1, or `max_retries` is negative.
    """
    for name in _POSITIVE_SECONDS:
        value = getattr(model, name)
        if value is not None and value <= 0:
            msg = f"{name} must be a positive number of seconds, got {value!r}"
            raise ValueError(msg)
    for name in _POSITIVE_COUNTS:
        value = getattr(model, name)
        if value is not None and value < 1:
            msg = f"{name} must be a positive integer, got {value!r}"
            raise ValueError(msg)
    if model.max_retries < 0:
        msg = f"max_retries must be >= 0, got {model.max_retries!r}"
        raise ValueError(msg)
