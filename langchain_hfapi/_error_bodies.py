"""Parses the error bodies of the router, the Hub and the providers into errors.

Bodies come in many shapes (see `docs/errors.md`): `{"error": "..."}`,
`{"error": "...", "error_type": "validation"}`, OpenAI's
`{"error": {"message": ..., "code": ...}}`, FastAPI's `{"detail": ...}`,
`{"message": ...}`, plain text, HTML pages, and the `X-Error-Message` header.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from langchain_hfapi._retry import parse_retry_after
from langchain_hfapi.errors import (
    AuthenticationError,
    HuggingFaceAPIError,
    InputTooLongError,
    InvalidRequestError,
    ModelNotSupportedError,
    ParameterNotSupportedError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
)

__all__ = ["error_from_event", "error_from_response", "excerpt"]

EXCERPT_CHARS = 300  # longest body excerpt kept in an error message
CLASSIFY_CHARS = 4000  # the part of a message searched for its meaning (Hyperbolic's
# "model not served" message names every model it serves before saying so)

# "This provider does not serve this model (for this request)": the next one may.
# Each phrase is taken from a recorded body (tests/data, tests/corpus):
# the router's "is not supported by any provider you have enabled", a route's
# "Model not supported by provider together", Hyperbolic's "Only A && B
# allowed now, your model C" (code 40301), hf-inference's "`stream` is not
# supported for this model", and "does not exist".
_NOT_SUPPORTED = re.compile(
    r"not supported by|not supported for this model|allowed now, your model|does not exist",
    re.I,
)
_NOT_SUPPORTED_CODES = frozenset({"model_not_supported", "model_not_found", "40301"})
# "This provider does not accept a parameter of the request": the next one may.
# From recorded bodies (tests/corpus): OpenAI-style `unsupported_value` ("Unsupported
# value: 'messages[0].role' does not support 'developer' with this model."), "Web
# search options not supported with this model." (param `web_search_options`), and
# the old transformers backend's "The following `model_kwargs` are not used by the model".
_PARAM_UNSUPPORTED = re.compile(
    r"unsupported (value|parameter)|not supported with this model|are not used by the model",
    re.I,
)
_PARAM_UNSUPPORTED_CODES = frozenset({"unsupported_value", "unsupported_parameter"})
_TOO_LONG = re.compile(
    r"context length|context window|maximum context|too long|"
    r"tokens \+ `?max_new_tokens`? must be <=|must have less than|"
    r"input is too large|prompt is too long",
    re.I,
)
_TGI_ERROR_TYPES = {
    "validation": 422,
    "template_error": 422,
    "overloaded": 503,
    "generation": 500,
    "incomplete_generation": 500,
}


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Shortens `text` to at most `limit` characters on one line.

    Args:
        text: Any text, e.g. a response body.
        limit: Maximum number of characters kept.

    Returns:
        The text with whitespace runs collapsed, cut with "..." when longer.
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _code(value: Any) -> str | None:
    """Returns an error code as text; codes are strings or integers."""
    return str(value) if type(value) in (str, int) and value != "" else None


def _message_from_json(data: Any) -> tuple[str | None, str | None]:
    """Returns (message, code) from any known JSON error shape."""
    if not isinstance(data, dict):
        return (data if isinstance(data, str) else None), None
    error = data.get("error")
    if isinstance(error, str):
        return error, _code(data.get("error_type"))
    if isinstance(error, list) and error and all(isinstance(e, str) for e in error):
        return "; ".join(error), _code(data.get("error_type"))
    if isinstance(error, dict):
        message = error.get("message")
        code = _code(error.get("code")) or _code(error.get("type"))
        return (str(message) if message is not None else json.dumps(error)), code
    detail = data.get("detail")
    if isinstance(detail, str):
        return detail, None
    if isinstance(detail, list):
        parts = [
            f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}"
            if isinstance(d, dict)
            else str(d)
            for d in detail
        ]
        return "; ".join(parts), None
    message = data.get("message")
    if isinstance(message, str):  # vLLM / Hyperbolic: {"object": "error", "message", "code"}
        return message, _code(data.get("code"))
    return None, None


def _read_body(
    body: bytes, content_type: str, header_message: str | None
) -> tuple[str, str | None]:
    """Returns (message, code) from a response body and its headers."""
    text = body.decode("utf-8", errors="replace")
    message: str | None = None
    code: str | None = None
    if "html" in content_type or text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
        message = "HTML error page" + (f": {title.group(1).strip()}" if title else "")
    else:
        try:
            message, code = _message_from_json(json.loads(text))
        except (ValueError, TypeError, RecursionError):  # not JSON, or an odd shape
            message = text or None
    raw = text if text.strip() not in ("", "{}", "[]", "null") else None
    return message or header_message or raw or "no error message", code


def _class_for(status: int, message: str, code: str | None) -> type[HuggingFaceAPIError]:
    """Picks the error class for a status code and message."""
    simple: dict[int, type[HuggingFaceAPIError]] = {
        401: AuthenticationError,
        402: PaymentRequiredError,
        403: PermissionDeniedError,
        404: ModelNotSupportedError,
        429: RateLimitError,
    }
    if status in simple:
        return simple[status]
    if status >= 500 or status == 408:
        return ProviderError
    if _NOT_SUPPORTED.search(message) or code in _NOT_SUPPORTED_CODES:
        return ModelNotSupportedError
    if _TOO_LONG.search(message):
        return InputTooLongError
    if status in (400, 422) and (
        _PARAM_UNSUPPORTED.search(message) or code in _PARAM_UNSUPPORTED_CODES
    ):
        return ParameterNotSupportedError
    if 400 <= status < 500:
        return InvalidRequestError
    return HuggingFaceAPIError


def error_from_response(
    status: int, headers: Mapping[str, str], body: bytes
) -> HuggingFaceAPIError:
    """Builds the typed error for an HTTP error response.

    Args:
        status: The HTTP status code (>= 400).
        headers: The response headers (case-insensitive mapping).
        body: The response body, read in full.

    Returns:
        An instance of the matching `HuggingFaceAPIError` subclass, with
        `status_code`, `request_id` and a body excerpt filled in.

    Example:
        >>> err = error_from_response(429, {"retry-after": "2"}, b'{"error":"slow"}')
        >>> type(err).__name__, err.retry_after
        ('RateLimitError', 2.0)
    """
    message, code = _read_body(
        body, headers.get("content-type", ""), headers.get("x-error-message")
    )
    cls = _class_for(status, message[:CLASSIFY_CHARS], code)
    return cls(
        excerpt(message),
        status_code=status,
        request_id=headers.get("x-request-id"),
        body=excerpt(body.decode("utf-8", errors="replace")),
        retry_after=parse_retry_after(headers),
    )


def error_from_event(payload: Mapping[str, Any]) -> HuggingFaceAPIError:
    """Builds the typed error for an `{"error": ...}` event inside a 200 stream.

    Args:
        payload: The decoded event; `payload["error"]` is a string or an object,
            possibly with `error_type` (TGI) or `http_status_code`.

    Returns:
        The matching error; a provider failure unless the event names a 4xx
        (TGI's `http_status_code` or `error_type`, Groq's `status_code`).
    """
    try:
        message, code = _message_from_json(dict(payload))
    except (TypeError, RecursionError):  # an odd shape: the event itself says it
        message, code = None, None
    if message is None:
        message = f"error event: {excerpt(repr(payload), 200)}"
    error = payload.get("error")
    status = None
    if isinstance(error, dict):  # TGI's http_status_code, Groq's status_code
        status = error.get("http_status_code") or error.get("status_code")
    if type(status) is not int or not 400 <= status <= 599:
        status = _TGI_ERROR_TYPES.get(str(payload.get("error_type")), 500)
    cls = _class_for(status, message[:CLASSIFY_CHARS], code)
    return cls(
        f"error event in stream: {excerpt(message)}",
        status_code=status,
        body=excerpt(json.dumps(payload, ensure_ascii=False)),
    )
