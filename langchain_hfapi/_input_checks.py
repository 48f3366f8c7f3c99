"""Refuses careless input before it reaches the network (no I/O).

Tokens, URLs and header values are checked when a model or client is built;
request bodies before the first request of a call (the Hub lookup included).
Each check raises a `ValueError` that names the setting and never quotes a
secret, so a local mistake is neither sent, nor retried, nor counted against a
provider's health.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from langchain_hfapi._redact import remember_secret

__all__ = [
    "RESERVED_BODY_KEYS",
    "check_body_fields",
    "check_connection",
    "check_finite",
    "check_header",
    "check_url",
    "encode_json",
    "normalize_token",
]

RESERVED_BODY_KEYS = ("model", "stream", "messages")
_SECONDS = ("timeout", "first_token_timeout", "total_timeout", "mapping_ttl", "provider_cooldown")
_URLS = ("router_url", "hub_url", "base_url")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _bad_header_char(value: str) -> str | None:
    """Describes the first character a header value may not hold, if any."""
    if value.isascii() and value.isprintable():  # all of it in 32..126: the common case
        return None
    for index, char in enumerate(value):
        code = ord(char)
        if char in "\r\n":
            return f"a line break at character {index}"
        if code > 126:
            return f"a non-ASCII character at character {index}"
        if code < 32 or code == 127:
            return f"a control character at character {index}"
    return None


def normalize_token(token: str | None, source: str) -> str | None:
    """Strips a token and refuses one that cannot be sent in a header.

    The accepted token is remembered, so that it is removed from every error,
    warning and log line the package writes.

    Args:
        token: The token as configured, or `None`.
        source: Where it came from (`"api_key"`, `"HF_TOKEN"`, a file path),
            named in the error.

    Returns:
        The token without surrounding whitespace, or `None` when it is empty.

    Raises:
        ValueError: If the token holds a line break, another control character
            or a non-ASCII character. The message never contains the token.
    """
    if token is None:
        return None
    token = token.strip()
    problem = _bad_header_char(token)
    if problem is not None:
        msg = (
            f"The Hugging Face token from {source} holds {problem}; copy the token "
            "again from https://huggingface.co/settings/tokens (it is plain ASCII)"
        )
        raise ValueError(msg)
    if token:
        remember_secret(token)
    return token or None


def check_header(name: str, value: object) -> None:
    """Checks that a header value can be sent as it is.

    Args:
        name: The setting or header named in the error.
        value: The header value.

    Raises:
        ValueError: If the value is not a string, or holds a line break,
            another control character or a non-ASCII character.
    """
    if not isinstance(value, str):
        msg = f"header {name} must be a string, got {type(value).__name__}"
        raise ValueError(msg)
    problem = _bad_header_char(value)
    if problem is not None:
        msg = f"header {name} cannot be sent: its value holds {problem}"
        raise ValueError(msg)


_GOOD_URLS: set[str] = set()  # URLs that passed `check_url`: a URL is checked once
MAX_GOOD_URLS = 256


def check_url(name: str, url: str | None) -> None:
    """Checks that a base URL is http(s), with a host and no user info.

    Args:
        name: The setting named in the error (`"router_url"`, ...).
        url: The URL, or `None` when unset.

    Raises:
        ValueError: If the URL has another scheme, no host, a `user:password@`
            part (never quoted), spaces or control characters.
    """
    if url is not None and url not in _GOOD_URLS:
        _check_url(name, url)
        if len(_GOOD_URLS) < MAX_GOOD_URLS:
            _GOOD_URLS.add(url)


def _check_url(name: str, url: str) -> None:
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        msg = f"{name} holds spaces or control characters; percent-encode them"
        raise ValueError(msg)
    parts = urlsplit(url)
    if "@" in parts.netloc:
        msg = (
            f"{name} must not hold a user name or password ('user:password@host'); "
            "pass the token as api_key and other credentials in default_headers"
        )
        raise ValueError(msg)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"{name} must be an http:// or https:// URL with a host, got {url!r}"
        raise ValueError(msg)


def check_connection(settings: Any) -> SecretStr | None:
    """Checks the connection settings of a chat model or of a client.

    Args:
        settings: A `ChatHuggingFaceAPI` or a `ClientSettings`: anything with
            `api_key`, `router_url`, `hub_url`, `base_url`, `bill_to`,
            `default_headers` and the seconds `timeout` (a number or an
            `httpx.Timeout`), `first_token_timeout`, `mapping_ttl` and
            `provider_cooldown`.

    Returns:
        The token without surrounding whitespace (`None` when empty).

    Raises:
        ValueError: For a token, URL or header value that cannot be sent, or a
            number of seconds that is NaN or infinite.
    """
    for name in _SECONDS:
        value = getattr(settings, name)
        as_dict = getattr(value, "as_dict", None)  # an httpx.Timeout
        check_finite(name, as_dict() if callable(as_dict) else value)
    for name in _URLS:
        check_url(name, getattr(settings, name))
    if settings.bill_to is not None:
        check_header("X-HF-Bill-To (bill_to)", settings.bill_to)
    for header, value in (settings.default_headers or {}).items():
        check_header(f"{header!r} (default_headers)", value)
        if not isinstance(header, str) or not _HEADER_NAME.fullmatch(header):
            msg = f"default_headers has a header name that cannot be sent: {header!r}"
            raise ValueError(msg)
    key = settings.api_key
    token = normalize_token(key.get_secret_value() if key is not None else None, "api_key")
    return SecretStr(token) if token is not None else None


def _find_non_finite(value: Any, path: str) -> str | None:
    """Returns the path of the first NaN or infinity inside `value`, if any."""
    kind = type(value)
    if kind is float:
        return None if math.isfinite(value) else path
    if value is None or kind is int or kind is str or kind is bool:
        return None  # the common cases, before the slower checks against ABCs
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _find_non_finite(item, f"{path}[{key!r}]")
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _find_non_finite(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def check_finite(name: str, value: Any) -> None:
    """Refuses NaN and infinities in a number or anywhere inside a dict or list.

    Args:
        name: The setting or request field named in the error.
        value: A number, or a JSON-like structure.

    Raises:
        ValueError: Naming where the value sits, e.g. `logit_bias['42']`.
    """
    found = _find_non_finite(value, name)
    if found is not None:
        msg = f"{found} must be a finite number (NaN and infinity are not valid JSON)"
        raise ValueError(msg)


def check_body_fields(name: str, fields: Mapping[str, Any] | None) -> None:
    """Checks user-supplied request fields (`model_kwargs`, `extra_body`).

    Args:
        name: The setting named in the error.
        fields: The fields, or `None`.

    Raises:
        ValueError: If a field would replace `model`, `stream` or `messages`
            (set by the chat model itself), or holds a NaN or infinity.
    """
    if not fields:
        return
    reserved = [key for key in RESERVED_BODY_KEYS if key in fields]
    if reserved:
        msg = (
            f"{name} must not set {', '.join(map(repr, reserved))}: the chat model sets "
            "these itself (choose the model with model=, and call stream() to stream)"
        )
        raise ValueError(msg)
    check_finite(name, fields)


def _unencodable(value: Any) -> str | None:
    """Describes the first string inside `value` that UTF-8 cannot encode."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            return f"a lone surrogate (U+{ord(value[err.start]):04X}) at character {err.start}"
        return None
    items: Any = ()
    if isinstance(value, Mapping):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple)):
        items = value
    for item in items:
        found = _unencodable(item)
        if found is not None:
            return found
    return None


def encode_json(body: Mapping[str, Any]) -> bytes:
    """Encodes a request body as UTF-8 JSON, refusing what JSON cannot carry.

    Args:
        body: The request body.

    Returns:
        UTF-8 JSON, non-ASCII characters kept as they are.

    Raises:
        ValueError: Naming the message (by index) or field that holds a lone
            surrogate, or the field that holds a NaN or infinity.
    """
    try:
        return json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
    except ValueError:  # UnicodeEncodeError is a ValueError too
        pass  # explained below, outside the handler: nothing is chained
    _explain_body(body)
    msg = "the request body cannot be encoded as JSON (is an object inside itself?)"
    raise ValueError(msg)


def _explain_body(body: Mapping[str, Any]) -> None:
    """Raises a `ValueError` naming the part of `body` that cannot be sent."""
    for index, message in enumerate(body.get("messages") or ()):
        problem = _unencodable(message)
        if problem is not None:
            msg = f"Message {index} cannot be encoded as UTF-8: it holds {problem}"
            raise ValueError(msg)
    for key, value in body.items():
        problem = _unencodable(value)
        if problem is not None:
            msg = f"request field {key!r} cannot be encoded as UTF-8: it holds {problem}"
            raise ValueError(msg)
        found = _find_non_finite(value, key)
        if found is not None:
            msg = f"{found} must be a finite number (NaN and infinity are not valid JSON)"
            raise ValueError(msg)
