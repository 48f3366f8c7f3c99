"""Checks of `ChatHuggingFaceAPI` settings, run at construction (no I/O)."""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any

from langchain_core.utils.utils import get_pydantic_field_names
from pydantic import SecretStr

from langchain_hfapi._input_checks import (
    check_body_fields,
    check_connection,
    check_finite,
    normalize_token,
)
from langchain_hfapi._preferences import check_prefs
from langchain_hfapi._redact import warn

__all__ = ["check_settings", "collect_extra_kwargs", "known_field_names"]

_POSITIVE_SECONDS = (
    "timeout",
    "first_token_timeout",
    "total_timeout",
    "mapping_ttl",
    "catalog_ttl",
    "provider_cooldown",
)
_POSITIVE_COUNTS = (
    "max_tokens",
    "max_input_chars",
    "provider_failures",
    "max_response_bytes",
    "max_error_bytes",
    "max_event_bytes",
    "max_stream_bytes",
    "max_events_before_token",
)
_FINITE_NUMBERS = ("temperature", "top_p", "frequency_penalty", "presence_penalty", "logit_bias")


@functools.cache
def known_field_names(cls: type) -> frozenset[str]:
    """Returns a model class's field names and aliases, computed once per class."""
    return frozenset(get_pydantic_field_names(cls))


def collect_extra_kwargs(values: Any, known: Collection[str]) -> Any:
    """Moves unknown constructor kwargs into `model_kwargs`, with a warning each.

    The token is wrapped in `SecretStr` in place first, so that no validation
    error can show it, then stripped and checked (`normalize_token`).

    Args:
        values: The raw constructor input.
        known: Field names and aliases of the model.

    Returns:
        The input with the unknown keys moved into `model_kwargs`.

    Raises:
        ValueError: If the token holds a control or non-ASCII character.
    """
    if not isinstance(values, dict):
        return values
    key = values.get("api_key")
    if isinstance(key, (str, SecretStr)):
        raw = key if isinstance(key, str) else key.get_secret_value()
        values["api_key"] = SecretStr("")  # the raw value is never part of an error
        token = normalize_token(raw, "api_key")
        values["api_key"] = SecretStr(token) if token is not None else None
    extra = {k: values.pop(k) for k in list(values) if k not in known}
    for name in extra:
        warn(
            f"{name!r} is not a ChatHuggingFaceAPI field; it is sent in the request body "
            "through model_kwargs",
            stacklevel=5,
        )
    if extra:
        values["model_kwargs"] = {**(values.get("model_kwargs") or {}), **extra}
    return values


def check_settings(model: Any) -> None:
    """Checks the settings of a chat model before any request.

    Args:
        model: A `ChatHuggingFaceAPI`.

    Raises:
        ValueError: If a timeout, TTL or cooldown is not a positive finite
            number, a provider preference is invalid (`check_prefs`), a
            count is below 1, `max_retries` is negative, a sampling
            number is NaN or infinite, `model_kwargs` or `extra_body` sets
            `model`, `stream` or `messages`, or a URL, header value or token
            cannot be sent (see `check_connection`).
    """
    for name in _POSITIVE_SECONDS:
        value = getattr(model, name)
        if value is not None and not 0 < value < float("inf"):
            msg = f"{name} must be a positive finite number of seconds, got {value!r}"
            raise ValueError(msg)
    for name in _FINITE_NUMBERS:
        check_finite(name, getattr(model, name))
    check_body_fields("model_kwargs", model.model_kwargs)
    check_body_fields("extra_body", model.extra_body)
    check_connection(model)
    for name in _POSITIVE_COUNTS:
        value = getattr(model, name)
        if value is not None and value < 1:
            msg = f"{name} must be a positive integer, got {value!r}"
            raise ValueError(msg)
    if model.max_retries < 0:
        msg = f"max_retries must be >= 0, got {model.max_retries!r}"
        raise ValueError(msg)
    check_prefs(model.provider_sort, model.max_price, model.ignore_providers)
