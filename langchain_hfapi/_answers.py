"""Whole HTTP answers: status checks, size-bounded bodies and JSON decoding (no I/O).

The drivers read the bytes; these functions decide what they mean: the typed
error of an error status, a whole chat completion, or the events of a server
that answered a stream request with a whole answer.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from langchain_hfapi._body_limits import BodyCollector, BodyLimits
from langchain_hfapi._completions import check_completion
from langchain_hfapi._error_bodies import error_from_response, excerpt
from langchain_hfapi._stream_events import completion_events
from langchain_hfapi.errors import (
    HuggingFaceAPIError,
    MalformedResponseError,
    ResponseTooLargeError,
)

__all__ = [
    "body_collector",
    "check_events_before_token",
    "check_response",
    "decode_json",
    "is_event_stream",
    "raise_not_event_stream",
    "whole_answer",
    "whole_answer_events",
]


def check_response(response: httpx.Response, body: bytes) -> None:
    """Raises the typed error of an HTTP error or redirect response.

    Redirects are never followed: the token is sent only to the configured
    router, Hub or `base_url` hosts.

    Raises:
        HuggingFaceAPIError: For any status >= 300.
    """
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("location", "?")
        msg = f"unexpected redirect to {location} (not followed, to keep the token)"
        raise HuggingFaceAPIError(
            msg, status_code=status, request_id=response.headers.get("x-request-id")
        )
    if status >= 400:
        raise error_from_response(status, response.headers, body)


def decode_json(response: httpx.Response, body: bytes) -> dict[str, Any]:
    """Decodes a whole answer, refusing HTML pages and non-objects.

    Raises:
        MalformedResponseError: If the body is not a JSON object.
    """
    kind = response.headers.get("content-type", "")
    start = body[:1024].decode("utf-8", errors="replace")  # decoded only for a message
    if "html" in kind:
        msg = f"expected JSON, got an HTML page ({kind}): {excerpt(start, 120)}"
        raise MalformedResponseError(msg, status_code=response.status_code)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than Python can
        data = None
    if not isinstance(data, dict):
        msg = f"answer is not a JSON object: {excerpt(start, 120)}"
        raise MalformedResponseError(msg, status_code=response.status_code)
    return data


def is_event_stream(response: httpx.Response) -> bool:
    """Checks whether the response's content type is `text/event-stream`."""
    return "event-stream" in response.headers.get("content-type", "")


def raise_not_event_stream(response: httpx.Response, body: bytes) -> None:
    """Raises when a stream request got something other than an event stream.

    Args:
        response: The response, status already checked.
        body: Its body (read only when it is not an event stream).

    Raises:
        MalformedResponseError: With an excerpt of what came instead.
    """
    kind = response.headers.get("content-type", "")
    text = body.decode("utf-8", errors="replace")
    msg = f"expected an event stream, got {kind or 'no content type'}: {excerpt(text, 120)}"
    raise MalformedResponseError(msg, status_code=response.status_code)


def body_collector(response: httpx.Response, limits: BodyLimits) -> BodyCollector:
    """Creates the bounded reader of a response's whole body.

    An error body is cut at `max_error_bytes` (only an excerpt is kept); any
    other body may not pass `max_response_bytes`.

    Raises:
        MalformedResponseError: For a content encoding other than gzip or deflate.
    """
    encoding = response.headers.get("content-encoding", "")
    if response.status_code >= 300:
        return BodyCollector(encoding, limits.error, "max_error_bytes", truncate=True)
    return BodyCollector(encoding, limits.response, "max_response_bytes")


def check_events_before_token(count: int, limits: BodyLimits) -> None:
    """Stops a stream that sent too many events without content before its first token.

    Raises:
        ResponseTooLargeError: Past `max_events_before_token`.
    """
    if count > limits.events_before_token:
        msg = (
            f"more than max_events_before_token={limits.events_before_token} events "
            "without content before the first token"
        )
        raise ResponseTooLargeError(msg, limit="max_events_before_token")


def whole_answer(response: httpx.Response, body: bytes) -> dict[str, Any]:
    """Checks a whole answer's status and shape and decodes it.

    Args:
        response: The response, headers read.
        body: Its whole body.

    Returns:
        The chat completion.

    Raises:
        HuggingFaceAPIError: The typed error of an error status, or
            `MalformedResponseError` for anything but a chat completion.
    """
    check_response(response, body)
    return check_completion(decode_json(response, body))


def whole_answer_events(response: httpx.Response, body: bytes) -> list[dict[str, Any]]:
    """Reads the answer to a stream request that is not an event stream.

    Some servers ignore `"stream": true` and send a whole JSON answer; it
    becomes one event.

    Args:
        response: The response, headers read.
        body: Its whole body.

    Returns:
        The whole answer as stream events.

    Raises:
        HuggingFaceAPIError: The typed error of an error status, or
            `MalformedResponseError` for anything but a JSON chat completion.
    """
    check_response(response, body)
    if "json" not in response.headers.get("content-type", ""):
        raise_not_event_stream(response, body)
    return completion_events(whole_answer(response, body))
