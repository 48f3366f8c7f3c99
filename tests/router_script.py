"""Scripting data types for the fake router in tests.

`Step` describes how the fake server answers one request (fault injection);
`RecordedRequest` is what the server remembers about each request it saw; `Reply`
is a response about to be written. `DEFAULT_MODELS` is the default Hub catalogue.
The payload builders live in `tests.router_payloads`, the wire I/O in
`tests.router_wire` and the server in `tests.router_server`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

ProviderEntry = tuple[str, str, str, str]
"""One mapping entry: ``(provider, providerId, status, task)``."""

UsageStyle = Literal["last", "running", "separate", "none"]
MappingShape = Literal["dict", "list"]
JsonBody = str | bytes | dict[str, Any] | list[Any]
SseEvent = dict[str, Any] | str

CONVERSATIONAL = "conversational"
"""The mapping task of chat models."""

_CONV = CONVERSATIONAL

DEFAULT_MODELS: dict[str, list[ProviderEntry]] = {
    "meta-llama/Llama-3.3-70B-Instruct": [
        ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "live", _CONV),
        (
            "fireworks-ai",
            "accounts/fireworks/models/llama-v3p3-70b-instruct",
            "live",
            _CONV,
        ),
        ("novita", "meta-llama/llama-3.3-70b-instruct", "live", _CONV),
        ("cerebras", "llama-3.3-70b", "live", _CONV),
        ("hf-inference", "meta-llama/Llama-3.3-70B-Instruct", "staging", _CONV),
    ],
    "Qwen/Qwen2.5-72B-Instruct": [
        ("together", "Qwen/Qwen2.5-72B-Instruct-Turbo", "live", _CONV),
        ("nebius", "Qwen/Qwen2.5-72B-Instruct-fast", "live", _CONV),
    ],
    "openai/gpt-oss-120b": [
        ("groq", "openai/gpt-oss-120b", "live", _CONV),
        ("cerebras", "gpt-oss-120b", "live", _CONV),
    ],
    "google/gemma-3-27b-it": [
        ("featherless-ai", "google/gemma-3-27b-it", "live", _CONV),
        ("scaleway", "gemma-3-27b-it", "live", _CONV),
    ],
    "sentence-transformers/all-MiniLM-L6-v2": [
        (
            "hf-inference",
            "sentence-transformers/all-MiniLM-L6-v2",
            "live",
            "feature-extraction",
        ),
    ],
    "meta-llama/Llama-3.2-11B-Vision-Instruct": [
        ("together", "meta-llama/Llama-3.2-11B-Vision-Instruct-Turbo", "live", _CONV),
    ],
}
"""Default Hub catalogue: repo id -> provider mapping entries."""

EXAMPLE_OFFERS: dict[str, dict[str, dict[str, Any]]] = {
    "meta-llama/Llama-3.3-70B-Instruct": {
        "together": {
            "pricing": {"input": 0.88, "output": 0.88},
            "first_token_latency_ms": 611,
            "throughput": 40.1,
        },
        "fireworks-ai": {
            "pricing": {"input": 0.9, "output": 0.9},
            "first_token_latency_ms": 588,
            "throughput": 45.4,
            "supports_tools": False,
        },
        "novita": {
            "pricing": {"input": 0.13, "output": 0.39},
            "first_token_latency_ms": 1490,
            "throughput": 24.7,
            "context_length": 32768,
        },
        "cerebras": {
            "pricing": {"input": 0.85, "output": 1.2},
            "first_token_latency_ms": 240,
            "throughput": 2100.0,
            "context_length": 65536,
        },
    },
}
"""A fake catalog in the real `/v1/models` shape (figures made up, of the real order of size):
for pages marked `<!-- fake-catalog -->`, the benchmark and by-hand runs."""

DEFAULT_VISION_MODELS: frozenset[str] = frozenset(
    {"google/gemma-3-27b-it", "meta-llama/Llama-3.2-11B-Vision-Instruct"}
)
"""Models advertised with ``image`` input modality on ``GET /v1/models``."""


@dataclass(frozen=True)
class Step:
    """How the fake server answers one scripted request.

    Precedence: ``first_byte_delay`` is slept first; then ``reset_before_headers``
    aborts the socket; then ``events`` (custom SSE stream), ``json`` (custom
    JSON body), ``body``/non-200 ``status`` (fixed body) are served; otherwise the
    default answer is served (optionally with ``answer`` overriding its text).
    ``headers`` are added to any response; ``reset_after_bytes``, ``trickle`` and
    ``event_delay`` shape how the body bytes are written.

    Attributes:
        status: HTTP status code.
        body: Fixed body; dicts/lists are JSON-encoded.
        headers: Extra response headers (override defaults, case-insensitively).
        content_type: Content-Type override.
        reset_before_headers: Abort the socket without sending anything.
        reset_after_bytes: Send headers and this many body bytes, then abort.
        first_byte_delay: Seconds to sleep before sending the status line.
        event_delay: Seconds to sleep between SSE events.
        trickle: Write the body one byte per write (one chunk per byte if
            chunked), draining after each.
        events: Custom SSE stream: dicts are sent as ``data: <json>`` events
            (compact JSON, blank-line terminated), strings are sent verbatim.
        done: Append a ``data: [DONE]`` event after ``events``.
        json: Custom JSON body (served with ``status``, 200 by default).
        answer: Override the default answer text for this request.
        stream_json_for_stream: Answer a stream request with a plain JSON
            completion instead of SSE.
    """

    status: int = 200
    body: JsonBody | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None
    reset_before_headers: bool = False
    reset_after_bytes: int | None = None
    first_byte_delay: float = 0.0
    event_delay: float = 0.0
    trickle: bool = False
    events: Sequence[SseEvent] | None = None
    done: bool = True
    json: dict[str, Any] | None = None
    answer: str | None = None
    stream_json_for_stream: bool = False

    @classmethod
    def error(
        cls,
        status: int,
        body: JsonBody | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        **kwargs: Any,
    ) -> Step:
        """An error response, e.g. ``Step.error(429, {"error": "slow down"})``."""
        if body is None:
            body = {"error": reason_phrase(status)}
        return cls(
            status=status,
            body=body,
            headers=dict(headers or {}),
            content_type=content_type,
            **kwargs,
        )

    @classmethod
    def html(cls, status: int, html: str, **kwargs: Any) -> Step:
        """An HTML error page (as served by load balancers/CDNs)."""
        return cls(status=status, body=html, content_type="text/html", **kwargs)

    @classmethod
    def reset(cls, *, delay: float = 0.0) -> Step:
        """Close the connection abruptly before sending any byte."""
        return cls(reset_before_headers=True, first_byte_delay=delay)

    @classmethod
    def reset_after(cls, n_bytes: int, **kwargs: Any) -> Step:
        """Send headers and the first ``n_bytes`` of the body, then abort."""
        return cls(reset_after_bytes=n_bytes, **kwargs)

    @classmethod
    def delay(cls, seconds: float, **kwargs: Any) -> Step:
        """Sleep ``seconds`` before the status line, then answer normally."""
        return cls(first_byte_delay=seconds, **kwargs)

    @classmethod
    def stream(cls, events: Sequence[SseEvent], *, done: bool = True, **kwargs: Any) -> Step:
        """A fully custom SSE stream (see `Step.events`)."""
        return cls(events=list(events), done=done, **kwargs)

    @classmethod
    def completion(cls, payload: dict[str, Any], *, status: int = 200, **kwargs: Any) -> Step:
        """A fully custom non-streaming JSON body."""
        return cls(json=payload, status=status, **kwargs)

    @classmethod
    def text(cls, answer: str, **kwargs: Any) -> Step:
        """The default answer format, with ``answer`` as the text."""
        return cls(answer=answer, **kwargs)


@dataclass
class RecordedRequest:
    """A request as seen by the fake server.

    Attributes:
        method: HTTP method.
        path: URL path (not decoded).
        query: Parsed query string (``parse_qs`` style, blanks kept).
        headers: Request headers with lower-cased names.
        body: Raw body bytes.
        json: Parsed JSON body, or None if absent/invalid.
        connection: Id of the TCP connection (equal ids = keep-alive reuse).
        route: ``"hub"``, ``"models"``, ``"chat"`` or ``"other"``.
        provider: Provider that served a chat request (``"custom"`` for
            base_url routes), None if routing failed or not a chat request.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    json: Any
    connection: int
    route: str = "other"
    provider: str | None = None


def reason_phrase(status: int) -> str:
    """The HTTP reason phrase for ``status`` (``"HTTP <n>"`` if unknown)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


@dataclass
class Reply:
    """A response about to be written, shaped on the wire by ``step``.

    Attributes:
        status: HTTP status code.
        content_type: Content-Type header value.
        pieces: Body pieces; with ``chunked`` each is one SSE event/chunk.
        chunked: Use ``Transfer-Encoding: chunked`` instead of Content-Length.
        headers: Extra headers (override the framing ones case-insensitively).
        step: The step whose delays/resets/trickling apply.
    """

    status: int
    content_type: str
    pieces: list[bytes]
    chunked: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    step: Step = field(default_factory=Step)
